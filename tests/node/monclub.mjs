// A MonClub client in JavaScript, written from docs/protocol.md alone: ZeroMQ (zeromq 6) and
// msgpack (@msgpack/msgpack), nothing of MonClub's Python. Every endpoint, the bus included, is
// reached over tcp with CurveZMQ.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import { decode, encode } from "@msgpack/msgpack";
import * as zmq from "zeromq";

// membre ids go up to 2^63 - 1: 64-bit integers are BigInt both ways (section 2).
const CODEC = { useBigInt64: true };
export const pack = (value) => Buffer.from(encode(value, CODEC));
export const unpack = (bytes) => decode(bytes, CODEC);
export const newId = () => randomUUID().replaceAll("-", "");

// CRC-32/IEEE, as zlib computes it, unsigned (section 2).
const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
export function crc32(text) {
  let c = 0xffffffff;
  for (const byte of Buffer.from(text, "utf8")) c = TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// A key file (section 1): the line `    public-key = "<40 characters of Z85>"` (or secret-key).
export function readKey(path, which) {
  const found = readFileSync(path, "utf8").match(new RegExp(`^\\s*${which}\\s*=\\s*"(.{40})"\\s*$`, "m"));
  if (!found) throw new Error(`no ${which} in ${path}`);
  return found[1];
}

export class Club {
  // MONCLUB_TCP host:port as `[reunions] tcp`, MONCLUB_SERVER_KEY keys/server.key,
  // MONCLUB_CLIENT_KEY this client's NAME.key_secret. Everything else comes from the directory.
  constructor(env) {
    const [host, port] = env.MONCLUB_TCP.split(":");
    this.host = host;
    this.port = Number(port);
    this.directories = new Map();
    this.redirects = 0;
    this.keys = {
      curveServerKey: readKey(env.MONCLUB_SERVER_KEY, "public-key"),
      curvePublicKey: readKey(env.MONCLUB_CLIENT_KEY, "public-key"),
      curveSecretKey: readKey(env.MONCLUB_CLIENT_KEY, "secret-key"),
    };
  }

  at(offset) {
    return `tcp://${this.host}:${this.port + offset}`;
  }

  // Section 2: the partition count and each partition's owner, asked of the branch's first shard
  // process once, then kept up to date by the redirects.
  async directory(branch) {
    if (!this.directories.has(branch)) {
      const first = branch === "reunions" ? this.reunions(0) : this.prets(0);
      const { reply } = await this.call(first, { v: 1, id: newId(), op: "directory" });
      const { partitions, owners } = assertOk(reply);
      this.directories.set(branch, { first, partitions, owners: new Map(owners.map((o) => [o.partition, o.endpoint])) });
    }
    return this.directories.get(branch);
  }

  async partitionOf(branch, key) {
    return crc32(key) % (await this.directory(branch)).partitions;
  }

  async ownerOf(branch, key) {
    const directory = await this.directory(branch);
    return directory.owners.get(await this.partitionOf(branch, key)) ?? directory.first;
  }

  // A request to the owner of `key`'s partition: a `wrong_owner` reply names the owner, where the
  // same request goes at once (or after a pause while no process owns the partition).
  async routed(branch, key, message) {
    const directory = await this.directory(branch);
    const partition = await this.partitionOf(branch, key);
    let endpoint = await this.ownerOf(branch, key);
    for (let hops = 0; ; hops++) {
      const result = await this.call(endpoint, message);
      const { error } = result.reply;
      if (result.reply.ok || error.code !== "wrong_owner" || hops >= 8) return result;
      if (error.owner) {
        endpoint = error.owner.endpoint;
        directory.owners.set(partition, endpoint);
        this.redirects++;
      } else await sleep(100);
    }
  }

  // Sections 1, 11, 14 and 15: shards from the port, loans 100 further, the accueil at 200, the
  // replay at 201, the bus at 202.
  reunions(index) {
    return this.at(index);
  }

  prets(index) {
    return this.at(100 + index);
  }

  get accueil() {
    return this.at(200);
  }

  get replay() {
    return this.at(201);
  }

  get bus() {
    return this.at(202);
  }

  // One request by the retry recipe of section 9; the reply and its exact bytes.
  async call(endpoint, message, options = {}) {
    return lazyPirate(endpoint, pack(message), { keys: this.keys, ...options });
  }

  async seance(op, fields, id = newId()) {
    return this.routed("reunions", fields.seance, { v: 1, id, op, ...fields });
  }

  async livre(op, fields, id = newId()) {
    return this.routed("prets", fields.livre, { v: 1, id, op, ...fields });
  }

  async desk(op, fields = {}, id = newId()) {
    return this.call(this.accueil, { v: 1, id, op, ...fields });
  }

  // Every row of a listing of the accueil, page after page (section 14).
  async listing(op, filters = {}, limite = 2) {
    const rows = [];
    let apres = null;
    do {
      const { reply } = await this.desk(op, { ...filters, apres, limite });
      assertOk(reply);
      rows.push(...reply.result[op]);
      apres = reply.result.suivant;
    } while (apres !== null);
    return rows;
  }

  // The events from seq `depuis` up to `jusqua`, page after page from the replay socket (section 15).
  async replayEvents(depuis, jusqua) {
    const events = [];
    for (let next = depuis; next <= jusqua; ) {
      const { reply } = await this.call(this.replay, { v: 1, id: newId(), op: "events", depuis: BigInt(next), limite: 100 });
      assertOk(reply);
      if (reply.result.events.length === 0) break;
      events.push(...reply.result.events);
      next = Number(events.at(-1).seq) + 1;
    }
    return events;
  }
}

export function assertOk(reply) {
  if (!reply.ok) throw new Error(`refused: ${reply.error.code}: ${reply.error.message}`);
  return reply.result;
}

async function attempt(endpoint, payload, timeout, keys) {
  const socket = new zmq.Request({ linger: 0, sendTimeout: timeout, receiveTimeout: timeout, ...keys });
  socket.connect(endpoint);
  try {
    await socket.send(payload);
    const [bytes] = await socket.receive();
    return bytes;
  } catch (error) {
    if (error.code === "EAGAIN") return null;
    throw error;
  } finally {
    socket.close();
  }
}

// Section 9: the same bytes on every attempt, a new REQ socket after each unanswered one, a
// jittered backoff, `unavailable` retried, anything else final.
export async function lazyPirate(endpoint, payload, { keys, attemptTimeout = 1500, deadline = 15000 }) {
  const end = Date.now() + deadline;
  let unanswered = 0;
  for (let k = 0; ; k++) {
    const bytes = await attempt(endpoint, payload, Math.max(10, Math.min(attemptTimeout, end - Date.now())), keys);
    if (bytes !== null) {
      const reply = unpack(bytes);
      if (reply.ok || reply.error.code !== "unavailable") return { reply, bytes };
    } else unanswered++;
    const pause = Math.min(500, 20 * 2 ** k) * (0.5 + Math.random());
    if (Date.now() + pause >= end) {
      throw new Error(unanswered ? `timeout: no answer from ${endpoint}, outcome unknown` : "unavailable");
    }
    await sleep(pause);
  }
}

// A subscriber of the bus that tells a gap (section 15): `last` is the highest seq it has.
export class Follower {
  constructor(club, timeout = 5000) {
    this.socket = new zmq.Subscriber({ linger: 0, receiveTimeout: timeout, ...club.keys });
    this.socket.connect(club.bus);
    this.socket.subscribe("event");
    this.socket.subscribe("heartbeat");
  }

  // The next message as {topic, seq, event?}.
  async next() {
    const [topic, body] = await this.socket.receive();
    const message = unpack(body);
    return { topic: topic.toString(), seq: Number(message.seq), event: topic.toString() === "event" ? message : null };
  }

  close() {
    this.socket.close();
  }
}
