// MonClub driven over the wire only, from docs/protocol.md: started by
// tests/integration/test_node_client.py with the endpoints in the environment.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { curveKeyPair } from "zeromq";

import { assertOk, Club, crc32, Follower, lazyPirate, newId, pack } from "./monclub.mjs";

const club = new Club(process.env);
const unique = newId().slice(0, 8);
const followers = [];
after(() => followers.forEach((follower) => follower.close()));

async function newMembre(nom) {
  const { reply } = await club.desk("creer_membre", { nom, email: null });
  return BigInt(assertOk(reply).membre.id);
}

async function until(what, condition, seconds = 20) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await sleep(50);
  }
}

test("the partition function reproduces the document's worked examples", async () => {
  assert.equal(crc32("polar"), 3751118901);
  assert.equal(crc32("polar") % 16, 5);
  assert.equal(crc32("dune"), 27051533);
  assert.equal(crc32("dune") % 8, 5);
  assert.equal((await club.directory("reunions")).partitions, 16);
  assert.equal(await club.partitionOf("prets", "dune"), 5);
});

test("the directory lists an owner for every partition, and every endpoint answers ping over CurveZMQ", async () => {
  const owners = [];
  for (const branch of ["reunions", "prets"]) {
    const directory = await club.directory(branch);
    assert.deepEqual([...directory.owners.keys()].sort((a, b) => a - b), [...Array(directory.partitions).keys()]);
    owners.push(...directory.owners.values());
  }
  const endpoints = [...new Set(owners), club.accueil, club.replay];
  for (const endpoint of endpoints) {
    const { reply } = await club.call(endpoint, { v: 1, id: newId(), op: "ping" });
    assert.equal(reply.ok, true, endpoint);
    assert.equal(typeof reply.result.pid, "number");
  }
});

test("a membre is created once per request id, and a resend gets the same bytes", async () => {
  const id = newId();
  const first = await club.desk("creer_membre", { nom: `Marie ${unique}`, email: "marie@example.org" }, id);
  const again = await club.desk("creer_membre", { nom: `Marie ${unique}`, email: "marie@example.org" }, id);
  assert.deepEqual(again.bytes, first.bytes);
  const membre = assertOk(first.reply).membre;
  const named = (await club.listing("membres")).filter((row) => row.nom === `Marie ${unique}`);
  assert.deepEqual(named, [membre]);
});

test("a seance is created on its shard, members register, and a resend changes nothing", async () => {
  const seance = `polar-${unique}`;
  const [marie, paul] = [await newMembre("Marie"), await newMembre("Paul")];
  const created = await club.seance("creer", { seance, titre: "Soirée Polar", places: 1, attente: 1, tarif: 0 });
  assert.equal(assertOk(created.reply).seance.places_restantes, 1);
  const id = newId();
  const inscrit = await club.seance("inscrire", { seance, membre: marie }, id);
  assert.deepEqual(assertOk(inscrit.reply), { statut: "inscrit" });
  const resent = await club.seance("inscrire", { seance, membre: marie }, id);
  assert.deepEqual(resent.bytes, inscrit.bytes);
  assert.deepEqual(assertOk((await club.seance("inscrire", { seance, membre: paul })).reply), {
    statut: "en_attente",
    position: 1,
  });
  const etat = assertOk((await club.seance("etat", { seance })).reply);
  assert.deepEqual(etat.inscrits.map(BigInt), [marie]);
  assert.deepEqual(etat.attente.map(BigInt), [paul]);
  const listed = (await club.listing("seances")).find((row) => row.id === seance);
  assert.equal(listed.inscrits, 1);
  assert.equal(listed.en_attente, 1);
});

test("a shard process that does not host a partition answers wrong_owner, naming the owner", async () => {
  const seance = `ailleurs-${unique}`;
  const owner = await club.ownerOf("reunions", seance);
  const other = [...(await club.directory("reunions")).owners.values()].find((endpoint) => endpoint !== owner);
  const { reply } = await club.call(other, { v: 1, id: newId(), op: "etat", seance });
  assert.equal(reply.error.code, "wrong_owner");
  assert.equal(reply.error.owner.endpoint, owner);
  assert.equal(reply.error.owner.partition, await club.partitionOf("reunions", seance));
  assert.match(reply.error.message, new RegExp(`its owner listens at ${owner}$`));
});

test("membre ids travel as 64-bit integers, exactly", async () => {
  const seance = `grand-${unique}`;
  assertOk((await club.seance("creer", { seance, titre: "Grand", places: 1, attente: 0, tarif: 0 })).reply);
  const membre = 2n ** 62n + 1n;
  const { reply } = await club.seance("inscrire", { seance, membre });
  assert.equal(reply.error.code, "membre_inconnu");
  assert.equal(reply.error.message, `no membre ${membre}`);
});

test("a payment appears for a paid registration and is settled exactly once", async () => {
  const seance = `payant-${unique}`;
  const membre = await newMembre("Claire");
  assertOk((await club.seance("creer", { seance, titre: "Atelier", places: 2, attente: 0, tarif: 800 })).reply);
  assertOk((await club.seance("inscrire", { seance, membre })).reply);
  const [paiement] = await until("the payment", async () => {
    const rows = await club.listing("paiements", { seance });
    return rows.length ? rows : null;
  });
  assert.equal(paiement.statut, "en_attente");
  assert.equal(BigInt(paiement.membre), membre);
  const id = newId();
  const settled = await club.desk("regler_paiement", { paiement: paiement.id }, id);
  assert.equal(assertOk(settled.reply).paiement.statut, "paye");
  assert.deepEqual((await club.desk("regler_paiement", { paiement: paiement.id }, id)).bytes, settled.bytes);
  const again = await club.desk("regler_paiement", { paiement: paiement.id });
  assert.equal(again.reply.error.code, "paiement_clos");
  const notes = await until("the notification", async () => {
    const rows = await club.listing("notifications", { membre });
    return rows.length ? rows : null;
  });
  assert.match(notes[0].message, /Atelier/);
});

test("a book copy is lent, and the loan is listed", async () => {
  const livre = `dune-${unique}`;
  const membre = await newMembre("Zoé");
  assertOk((await club.livre("ajouter", { livre, titre: "Dune" })).reply);
  const pret = assertOk((await club.livre("emprunter", { livre, membre, jours: 14 })).reply);
  assert.equal(pret.statut, "emprunte");
  const enCours = (await club.listing("prets", { en_retard: false })).find((row) => row.livre === livre);
  assert.equal(BigInt(enCours.membre), membre);
  assert.ok((await club.listing("livres")).some((row) => row.id === livre));
});

test("bad input is refused with invalid_request, naming the field", async () => {
  const { reply } = await club.desk("membres", { apres: null, limite: 0 });
  assert.equal(reply.error.code, "invalid_request");
  assert.equal(reply.error.message, "field 'limite' must be an integer from 1 to 50");
});

test("a subscriber that missed events finds the gap and replays it", async () => {
  const seance = `rejeu-${unique}`;
  const membres = [await newMembre("A"), await newMembre("B"), await newMembre("C")];
  const first = new Follower(club);
  followers.push(first);
  const heard = await first.next();
  let last = heard.seq;
  assertOk((await club.seance("creer", { seance, titre: "Rejeu", places: 5, attente: 0, tarif: 0 })).reply);
  const created = await until("seance_creee on the bus", async () => {
    const message = await first.next();
    return message.event?.type === "seance_creee" && message.event.aggregate === `seance/${seance}` ? message : null;
  });
  last = created.seq;
  first.close();
  const watcher = new Follower(club); // stays subscribed: tells when the missed events were published
  followers.push(watcher);
  await watcher.next();
  for (const membre of membres) assertOk((await club.seance("inscrire", { seance, membre })).reply);
  let published = 0;
  await until("the three registrations on the bus", async () => {
    const message = await watcher.next();
    published += message.event?.aggregate === `seance/${seance}` ? 1 : 0;
    return published === membres.length;
  });

  const second = new Follower(club);
  followers.push(second);
  const resumed = await second.next();
  const missedTo = resumed.topic === "event" ? resumed.seq - 1 : resumed.seq;
  assert.ok(missedTo >= last + 3, `a gap after ${last}: next message ${resumed.topic} ${resumed.seq}`);
  const replayed = await club.replayEvents(last + 1, missedTo);
  assert.deepEqual(
    replayed.map((event) => Number(event.seq)),
    Array.from({ length: missedTo - last }, (_, i) => last + 1 + i),
  );
  const ours = replayed.filter((event) => event.aggregate === `seance/${seance}`);
  assert.deepEqual(
    ours.map((event) => [event.type, BigInt(event.payload.membre)]),
    membres.map((membre) => ["membre_inscrit", membre]),
  );
});

test("a client whose key is not allowed gets no reply at all, nor any message from the bus", async () => {
  const { publicKey, secretKey } = curveKeyPair();
  const stranger = { ...club.keys, curvePublicKey: publicKey, curveSecretKey: secretKey };
  await assert.rejects(
    lazyPirate(club.accueil, pack({ v: 1, id: newId(), op: "ping" }), { keys: stranger, attemptTimeout: 300, deadline: 1000 }),
    /timeout/,
  );
  const follower = new Follower({ bus: club.bus, keys: stranger }, 1500);
  followers.push(follower);
  await assert.rejects(follower.next(), (error) => error.code === "EAGAIN", "heartbeats come every 0.5 s to allowed keys");
});
