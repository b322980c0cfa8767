// A partition moving to another node under a client that cached the directory: the stale entry
// gets `wrong_owner` naming the new owner, which the client follows (docs/protocol.md, section 2).
// Run by tests/integration/test_node_client.py, which drains the other node between the two
// halves (MONCLUB_READY: this test has cached the directory; MONCLUB_MOVED: the move is done).
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { assertOk, Club, newId } from "./monclub.mjs";

const club = new Club(process.env);

test("a request sent to a partition's former owner is redirected to its new one, and applied once", async () => {
  const mine = new Set([club.reunions(0), club.reunions(1)]); // this node runs two séance shard processes
  const [first, second] = await Promise.all(["Marie", "Paul"].map(async (nom) => {
    const { reply } = await club.desk("creer_membre", { nom, email: null });
    return BigInt(assertOk(reply).membre.id);
  }));
  let seance = null;
  for (let i = 0; seance === null && i < 500; i++) {
    const candidate = `ailleurs-${newId().slice(0, 6)}-${i}`;
    if (!mine.has(await club.ownerOf("reunions", candidate))) seance = candidate;
  }
  const before = await club.ownerOf("reunions", seance);
  assertOk((await club.seance("creer", { seance, titre: "Ailleurs", places: 5, attente: 0, tarif: 0 })).reply);
  assertOk((await club.seance("inscrire", { seance, membre: first })).reply);
  writeFileSync(process.env.MONCLUB_READY, before);
  for (const end = Date.now() + 60_000; !existsSync(process.env.MONCLUB_MOVED); await sleep(50)) {
    if (Date.now() > end) throw new Error("the other node was not drained within 60 s");
  }
  const redirects = club.redirects;
  const id = newId();
  const inscrit = await club.seance("inscrire", { seance, membre: second }, id);
  assert.deepEqual(assertOk(inscrit.reply), { statut: "inscrit" });
  assert.equal(club.redirects, redirects + 1, "one redirect, from the former owner to the new one");
  assert.ok(mine.has(await club.ownerOf("reunions", seance)), "now owned by this node");
  assert.deepEqual((await club.seance("inscrire", { seance, membre: second }, id)).bytes, inscrit.bytes);
  const etat = assertOk((await club.seance("etat", { seance })).reply);
  assert.deepEqual(etat.inscrits.map(BigInt), [first, second]);
});
