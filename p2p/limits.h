/* Every limit of the p2p layer, in one place. Units are the last part of
 * each name (_BYTES, _MS, _ENTRIES, ...). Each has a one-line reason; the
 * relations between them are checked by _Static_assert at the bottom, so a
 * change that breaks one fails to compile.
 *
 * Defaults that a node may override at run time (struct p2p_config) end in
 * _DEFAULT; the rest are fixed protocol or safety limits. */
#ifndef GOSSIPD_P2P_LIMITS_H
#define GOSSIPD_P2P_LIMITS_H

#include "chain/block.h"
#include "chain/tx.h"

/* ---- Protocol ---- */
/* Our protocol version (sent in `version`); peers below the minimum are
 * disconnected. */
#define P2P_PROTOCOL_VERSION        1
#define P2P_MIN_PROTOCOL_VERSION    1
/* Service bits we advertise: none defined yet (a full node is implied). */
#define P2P_SERVICES                0

/* ---- Framing ---- */
#define P2P_HEADER_BYTES            24   /* magic 4 | command 12 | length 4 | checksum 4 */
#define P2P_COMMAND_BYTES           12
/* Largest payload of any message: a block at the hard block size limit. */
#define P2P_MAX_PAYLOAD_BYTES       ((size_t)BLOCK_SIZE_LIMIT)
/* Payload cap for commands we do not know (ignored after reading). */
#define P2P_MAX_UNKNOWN_PAYLOAD_BYTES (64u * 1024)

/* ---- Message contents ---- */
#define P2P_MAX_INV_ENTRIES         50000u  /* inv, getdata, notfound (as Bitcoin) */
#define P2P_INV_ENTRY_BYTES         36u     /* type u32 | hash[32] */
#define P2P_MAX_ADDR_ENTRIES        1000u   /* per addr message */
#define P2P_ADDR_ENTRY_BYTES        30u     /* time u32 | services u64 | ip[16] | port u16 */
#define P2P_MAX_HEADERS_ENTRIES     2000u   /* per headers message */
#define P2P_HEADERS_ENTRY_BYTES     (HEADER_SIZE + 1u) /* header | varint 0 */
#define P2P_MAX_LOCATOR_ENTRIES     101u    /* getheaders locator hashes */
#define P2P_MAX_USER_AGENT_BYTES    256u    /* version user_agent */
#define P2P_MAX_NAME_BYTES          64u     /* node name inside the user agent */
/* version: fixed fields + varint + user agent + start_height + relay. */
#define P2P_VERSION_FIXED_BYTES     (4u + 8 + 8 + 26 + 26 + 8 + 4 + 1)

/* ---- Mempool reconciliation (recon message) ---- */
/* Bits of the 64-bit short id consumed per level: each mismatching bucket
 * splits into 2^P2P_RECON_FANOUT_BITS children. */
#define P2P_RECON_FANOUT_BITS       4u
#define P2P_RECON_CHILDREN          (1u << P2P_RECON_FANOUT_BITS)
/* Deepest level (prefix bits = depth * FANOUT_BITS must fit the u32 prefix). */
#define P2P_RECON_MAX_DEPTH         8u
/* A bucket holding at most this many txids on either side is listed in
 * full (txids) instead of being split further. */
#define P2P_RECON_LEAF_ENTRIES      8u
/* Bucket summaries and listed txids per recon message. */
#define P2P_MAX_RECON_NODES         4096u
#define P2P_MAX_RECON_IDS           4096u
/* kind u8 | depth u8 | prefix u32 | count varint (<= 2^32: 5 bytes) | xor u64 */
#define P2P_RECON_NODE_BYTES        (1u + 1 + 4 + 5 + 8)
/* A round that gets no answer is forgotten after this. */
#define P2P_RECON_TIMEOUT_MS        10000u
/* How often we start a round with one random peer. */
#define P2P_RECON_INTERVAL_MS_DEFAULT 5000u
/* recon messages we answer per peer per period (each answer snapshots the
 * mempool); beyond it they are ignored and scored as unsolicited. */
#define P2P_RECON_BUDGET_MSGS       64u
#define P2P_RECON_BUDGET_MS         10000u
/* What answering recon may cost, in entries examined (recon.h's `work`),
 * per P2P_RECON_BUDGET_MS: per peer, and for all peers together. A
 * message met with an empty budget is dropped (its round ends, unscored:
 * the next round picks up); one that runs out midway is answered in part.
 * An honest round with one difference in a 20,000-tx pool costs ~100. */
#define P2P_RECON_WORK_PEER_MAX     400000u
#define P2P_RECON_WORK_NODE_MAX     1600000u

/* ---- Compact blocks (p2p/cmpct.c, docs/PROTOCOL.md "Compact blocks") ---- */
#define P2P_CMPCT_VERSION           1u   /* sendcmpct version we speak */
#define P2P_CMPCT_SHORTID_BYTES     6u   /* 48-bit SipHash short txids */
/* Txs a cmpctblock, getblocktxn or blocktxn may count: as many as the
 * hard block size holds (each tx is at least TX_SIZE_MIN bytes). */
#define P2P_MAX_CMPCT_TXS           ((size_t)BLOCK_TX_MAX)
/* Peers we ask to push cmpctblock to us unsolicited (high-bandwidth mode):
 * the ones that most recently gave us a new block first. */
#define P2P_CMPCT_HB_PEERS          3u
/* Blocks being reconstructed at once (node-wide); each holds a slot per
 * tx until its block is complete, so this bounds their memory. */
#define P2P_CMPCT_PENDING_MAX       4u
/* getblocktxn unanswered: ask the same peer for the full block; a full
 * block asked for as a fallback and not back within
 * P2P_BLOCK_REQUEST_TIMEOUT_MS goes back to the normal download. */
#define P2P_CMPCT_TXN_TIMEOUT_MS    1000u
/* Best-chain blocks (tip and parents) whose txs a reconstruction also
 * tries, for a competing block holding txs our tip already mined. */
#define P2P_CMPCT_RECENT_BLOCKS     2u
/* Blocks whose first announcer (headers, inv or cmpctblock) is
 * remembered until the block is ours: that peer, not the one whose body
 * came first, becomes a high-bandwidth peer (the fastest path). */
#define P2P_CMPCT_FIRST_ANN_ENTRIES 8u
/* Compact blocks whose full-block fallback is remembered, so the normal
 * download asks for the body (not another cmpctblock). */
#define P2P_CMPCT_FAILED_ENTRIES    16u
/* (block, peer) pairs a cmpctblock crossed, remembered so a getdata cmpct
 * that crossed the push on the wire is not answered a second time. */
#define P2P_CMPCT_SEEN_ENTRIES      256u
/* Bytes of txs (beyond the coinbase) a cmpctblock we frame may carry
 * whole: the ones its receiver is not known to have, in block order while
 * they fit (about 60 small txs). A block of txs nobody knows then still
 * crosses as short ids past the first ones, not as a block in
 * cmpctblock clothing; the receiver asks for the rest (getblocktxn). */
#define P2P_CMPCT_PREFILL_MAX_BYTES 10000u

/* ---- Per-command payload caps, checked on the frame header before any
 * allocation. ---- */
#define P2P_MAX_VERSION_BYTES       (P2P_VERSION_FIXED_BYTES + 3 + P2P_MAX_USER_AGENT_BYTES)
#define P2P_MAX_PING_BYTES          8u
#define P2P_MAX_INV_BYTES           (3u + P2P_MAX_INV_ENTRIES * P2P_INV_ENTRY_BYTES)
#define P2P_MAX_ADDR_BYTES          (3u + P2P_MAX_ADDR_ENTRIES * P2P_ADDR_ENTRY_BYTES)
#define P2P_MAX_TX_BYTES            ((size_t)TX_SIZE_MAX)
#define P2P_MAX_BLOCK_BYTES         ((size_t)BLOCK_SIZE_LIMIT)
#define P2P_MAX_GETHEADERS_BYTES    (4u + 3 + P2P_MAX_LOCATOR_ENTRIES * 32 + 32)
#define P2P_MAX_HEADERS_BYTES       (3u + P2P_MAX_HEADERS_ENTRIES * P2P_HEADERS_ENTRY_BYTES)
#define P2P_MAX_RECON_BYTES         (3u + P2P_MAX_RECON_NODES * P2P_RECON_NODE_BYTES \
                                     + P2P_MAX_RECON_IDS * 32)
#define P2P_MAX_SENDCMPCT_BYTES     9u      /* hb u8 | version u64 */
/* A cmpctblock is at most a block (a sender whose prefilled txs would not
 * fit sends the block instead); so is a blocktxn. */
#define P2P_MAX_CMPCTBLOCK_BYTES    P2P_MAX_BLOCK_BYTES
#define P2P_MAX_GETBLOCKTXN_BYTES   (32u + 3 + P2P_MAX_CMPCT_TXS * 3)
#define P2P_MAX_BLOCKTXN_BYTES      P2P_MAX_BLOCK_BYTES
#define P2P_MAX_PUSHREQ_BYTES       8u       /* graft u32 | prune u32 */

/* ---- Buffers and flow control ---- */
/* A peer's receive buffer holds at most one frame. */
#define P2P_RECV_BUFFER_MAX_BYTES   (P2P_HEADER_BYTES + P2P_MAX_PAYLOAD_BYTES)
/* Before the handshake only version/verack are read, and no payload
 * above this (a version at its largest): a connection that has not shaken
 * hands costs at most this much buffer. */
#define P2P_MAX_PREHANDSHAKE_PAYLOAD_BYTES P2P_MAX_VERSION_BYTES
/* First allocation of a payload buffer; it doubles as bytes arrive, so a
 * declared length costs memory only once the bytes are really sent. */
#define P2P_RECV_BUFFER_MIN_BYTES   4096u
/* Receive buffers above this are shrunk back after a large frame. */
#define P2P_RECV_BUFFER_KEEP_BYTES  (64u * 1024)
/* Bytes handed to the driver but not yet written: above PAUSE we stop
 * reading from the peer (it asks faster than it reads), below RESUME we
 * read again, above MAX we drop it as a peer that does not read. */
#define P2P_SEND_QUEUE_MAX_BYTES    (24u * 1024 * 1024)
#define P2P_SEND_QUEUE_PAUSE_BYTES  (10u * 1024 * 1024)
#define P2P_SEND_QUEUE_RESUME_BYTES (2u * 1024 * 1024)
/* Serving getdata (bodies: blocks, txs) as the socket drains. A getdata's
 * items wait in a per-peer queue of at most GETDATA_QUEUE entries (items
 * beyond it are answered notfound at once, unscored: a slow honest link
 * piles up re-requests); the next body is serialized only while the peer's
 * unsent bytes are below SERVE_BELOW, so a peer holds at most that plus one
 * body, however much it asks for. */
#define P2P_GETDATA_QUEUE_MAX_ENTRIES 1024u
#define P2P_SEND_SERVE_BELOW_BYTES  (256u * 1024)
/* Node-wide: a body that would take all peers' unsent bytes together above
 * BUDGET is served only to a peer within its share (BUDGET over the
 * established peers, at least SERVE_BELOW and one largest block frame:
 * what serving lets one peer hold), and none takes the total above MAX
 * (the room between keeps honest peers' shares untouched). Txs are served
 * to a peer holding less than FLOOR whatever the total. */
#define P2P_SEND_NODE_BUDGET_BYTES  (32u * 1024 * 1024)
#define P2P_SEND_NODE_MAX_BYTES     (48u * 1024 * 1024)
#define P2P_SEND_PEER_FLOOR_BYTES   (64u * 1024)
/* A peer holding at least SERVE_BELOW unsent bytes whose driver reports
 * nothing written for STALL_MS is dropped (`send-stalled`, unscored); while
 * bodies wait for the node's budget, after CONTENDED_MS. */
#define P2P_SEND_STALL_MS           20000u
#define P2P_SEND_STALL_CONTENDED_MS 5000u
/* The driver reads at most this many bytes per peer per wake-up. */
#define P2P_READ_CHUNK_BYTES        (64u * 1024)

/* ---- Timers ---- */
#define P2P_HANDSHAKE_TIMEOUT_MS    10000u   /* connect -> verack */
#define P2P_PING_INTERVAL_MS        10000u   /* ping every established peer */
#define P2P_PING_TIMEOUT_MS         20000u   /* pong not back: drop */
#define P2P_IDLE_TIMEOUT_MS         60000u   /* nothing received at all: drop */
#define P2P_CONNECT_TIMEOUT_MS      10000u   /* driver never answered a connect */
#define P2P_TX_BATCH_MS_DEFAULT     50u      /* tx inv batching period per peer */
#define P2P_HEADERS_SYNC_INTERVAL_MS 15000u  /* getheaders to one random peer */
#define P2P_GETHEADERS_TIMEOUT_MS   10000u   /* one getheaders in flight per peer */
#define P2P_BLOCK_FETCH_INTERVAL_MS 1000u    /* re-plan block downloads */
/* Longest the core sleeps between ticks even with nothing due. */
#define P2P_TICK_MAX_MS             1000u

/* ---- Relay ---- */
/* Per-peer known-inventory filter: exact, two generations of
 * KNOWN_INV_GEN_ENTRIES each, so between GEN and 2*GEN most recent items
 * are remembered. */
#define P2P_KNOWN_INV_GEN_ENTRIES   8192u
/* Node-wide memory of bodies already received (mined txs leave the
 * mempool but must not be downloaded again). */
#define P2P_RECENT_GEN_ENTRIES      32768u
/* Txs refused for a reason that a new tip may change (nonce, balance,
 * fee): not downloaded again until the tip moves. */
#define P2P_REJECTED_GEN_ENTRIES    8192u
/* Fan-out of tx announcements; 0 = every peer. */
#define P2P_FANOUT_DEFAULT          0u
/* Txids queued for one peer's next inv batch. */
#define P2P_TX_QUEUE_MAX_ENTRIES    P2P_MAX_INV_ENTRIES
/* Announcement window (relay.c): tx announcements a peer may still be
 * tracking from us, kept below its per-peer cap (P2P_TXREQ_MAX_PER_PEER)
 * so a burst is not cut there; the rest wait in the queue, in order. One
 * comes back per tx the peer asks us for, and all of a batch once
 * P2P_INV_WINDOW_MS have passed (by then it fetched them, from us or from
 * another announcer). A batch takes one of P2P_INV_WINDOW_SLOTS (the last
 * absorbs the rest, waiting longer). */
#define P2P_INV_WINDOW_ENTRIES      4000u
#define P2P_INV_WINDOW_MS           2000u
#define P2P_INV_WINDOW_SLOTS        16u

/* ---- Learned eager push (push.c, relay_mode push) ---- */
/* Origin buckets of txs: a hash of the sender key under a fixed salt
 * (every node must bucket a tx alike: the eager trees are per bucket
 * network-wide). One bit per bucket in pushreq's bitmaps. */
#define P2P_PUSH_BUCKETS            32u
#define P2P_PUSH_BUCKET_SALT        0x6773702d70757368ull
/* After a prune (either way), eager bodies still in flight from that peer
 * are not unsolicited for this long. */
#define P2P_PUSH_PRUNE_GRACE_MS     5000u
/* Push mode: a tx inv is pulled after this wait, from any announcer (an
 * eager body, if a link covers it, comes first; a shorter wait pulls
 * more duplicates: simulated, 200 nodes, 200 txs: 0 ms 1.69 bodies/node,
 * 100 ms 1.31, 200 ms 1.06, 400 ms 1.00; docs/SIMULATION.md). */
#define P2P_PUSH_LAZY_DELAY_MS      250u
/* Better-path probe: the first announcer or pusher of this many recent
 * txs is remembered (direct-mapped by short id, 32 bytes a slot), so that
 * an announcer that had a tx before our eager parent delivered it can be
 * grafted (docs/PROTOCOL.md "Learned eager push"). A power of two. */
#define P2P_PUSH_SEEN_SLOTS         32u
/* A neighbour is grafted by the probe once it had a bucket's tx before
 * our parent `need` times in a row; need doubles with each probe (a probe
 * costs one body), at most STREAK_MAX, and halves after QUIET eager txs
 * of the bucket without a candidate (push.c; per-frame jitter makes
 * single wins noise: need 1 always paid 2.1 bodies/node there,
 * docs/SIMULATION.md P9). */
#define P2P_PUSH_PROBE_STREAK_MAX   32u
#define P2P_PUSH_PROBE_QUIET        4u

/* ---- Pull scheduling (txrequest) ---- */
#define P2P_TX_REQUEST_TIMEOUT_MS   2000u    /* getdata tx unanswered: next announcer */
#define P2P_BLOCK_REQUEST_TIMEOUT_MS 5000u   /* getdata block unanswered */
#define P2P_MAX_TX_IN_FLIGHT        100u     /* per peer */
#define P2P_MAX_BLOCKS_IN_FLIGHT    16u      /* per peer: the block download window */
/* Non-preferred (inbound) announcers of a tx wait this long so an outbound
 * announcer, if any, is asked first. Blocks are never delayed. */
#define P2P_NONPREFERRED_DELAY_MS   100u
#define P2P_TXREQ_MAX_ANNOUNCERS    8u       /* remembered per hash */
#define P2P_TXREQ_MAX_PER_PEER      5000u    /* announcements tracked per peer */
#define P2P_TXREQ_MAX_ENTRIES       100000u  /* hashes tracked in total */
/* Fair share: the last RESERVED entries of the tracker only take new
 * hashes from peers holding fewer than FAIR_PER_PEER announcements, so
 * peers flooding junk (each up to MAX_PER_PEER) never fill it for the
 * others: every peer can always have FAIR_PER_PEER tracked. */
#define P2P_TXREQ_FAIR_PER_PEER     200u
#define P2P_TXREQ_RESERVED_ENTRIES  (P2P_MAX_PEERS * P2P_TXREQ_FAIR_PER_PEER)
/* Blocks planned for download at a time (from chain_blocks_to_fetch). */
#define P2P_BLOCK_FETCH_LOOKAHEAD   128u
/* Requests taken from the scheduler per poll (getdata grouping buffer). */
#define P2P_POLL_BATCH_ENTRIES      256u
/* Headers anti-DoS (presync.c, sync.c): a peer's headers whose chain does
 * not reach chain_headers_min_work are not stored; a full message of them
 * starts a presync that keeps, per peer, a commitment bit every
 * COMMIT_PERIOD headers (at most MAX_HEADERS headers from the fork point:
 * longer, the presync ends) and, while redownloading, a buffer of
 * BUFFER_HEADERS checked headers (16 commitments) before one is stored. */
#define P2P_PRESYNC_COMMIT_PERIOD   128u
#define P2P_PRESYNC_BUFFER_HEADERS  2048u
#define P2P_PRESYNC_MAX_HEADERS     (1u << 22)
/* The first body missing on the best header chain that no peer served for
 * this long, with peers connected: its branch is abandoned (fetch.c) until
 * a new header or a body on it arrives. */
#define P2P_HEADERS_ABANDON_MS      10000u
/* An orphan block handed to chain/ is not fetched again for this long
 * (chain/ holds it until its parent arrives); entries remembered. */
#define P2P_ORPHAN_HOLD_MS          60000u
#define P2P_ORPHAN_HOLD_ENTRIES     64u
/* Blocks fetched on an inv alone (header unknown) and refused for low work
 * (CHAIN_ST_NOT_STORED): the last this many are remembered and not asked
 * for again on an inv while their header stays unknown (a header chain
 * with the work still plans them). The tip's work only grows, so a refused
 * block stays refused; the ring bounds what a peer can make us forget. */
#define P2P_REFUSED_BLOCK_ENTRIES   64u

/* ---- Headers that store nothing (low work, presync) ---- */
/* Per peer, headers per second the node reads while they store nothing
 * (below the work threshold, or in a presync); past it, reading from that
 * peer pauses until the bucket refills. Checking a header costs ~5-10 us,
 * so one peer gets at most ~20 % of a core; an honest presync of a million
 * headers takes under a minute. */
#define P2P_LOWWORK_HEADERS_PER_S     20000u
#define P2P_LOWWORK_HEADERS_BURST     (2u * P2P_MAX_HEADERS_ENTRIES)

/* ---- Signature checks on the driver's workers (p2p_io.verify_tx) ---- */
/* Signatures handed out and not yet reported: beyond it, checks are inline
 * (the driver's threads are behind; the core's thread helps). A power of
 * two (the job ring). */
#define P2P_VERIFY_MAX_JOBS         4096u
/* Blocks parked while their signatures are checked (each decoded: up to
 * ~3x BLOCK_SIZE_LIMIT of heap); beyond it, a block is checked inline. */
#define P2P_VERIFY_MAX_BLOCKS       2u
/* A block with fewer uncached signatures is checked inline: the thread
 * hop would cost more latency than the checks. */
#define P2P_VERIFY_BLOCK_MIN_SIGS   8u

/* ---- Peers ---- */
#define P2P_MAX_PEERS               256u
#define P2P_OUTBOUND_TARGET_DEFAULT 8u
#define P2P_INBOUND_MAX_DEFAULT     117u
/* Address manager (p2p/addrbook.c), after Bitcoin Core's addrman: a new
 * table (addresses heard of) and a tried table (addresses we reached
 * outbound), each of BUCKETS x BUCKET_SLOTS cells. A source's addresses
 * go to at most NEW_BUCKETS_PER_SOURCE_GROUP new buckets (1/16 of the
 * new table per source group), a group's tried addresses to at most
 * TRIED_BUCKETS_PER_GROUP tried buckets. A held new cell is given up only
 * by a terrible entry: not heard of for HORIZON, or MAX_FAILURES failed
 * dials in a row. The book holds at most one entry per cell. */
#define P2P_ADDRMAN_NEW_BUCKETS     256u
#define P2P_ADDRMAN_TRIED_BUCKETS   64u
#define P2P_ADDRMAN_BUCKET_SLOTS    16u
#define P2P_ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP 16u
#define P2P_ADDRMAN_TRIED_BUCKETS_PER_GROUP      4u
/* Cells of its bucket an address may take (the first free one). */
#define P2P_ADDRMAN_SLOT_CHOICES    2u
#define P2P_ADDRMAN_HORIZON_MS      (30ull * 24 * 3600 * 1000)
#define P2P_ADDRMAN_MAX_FAILURES    3u
#define P2P_ADDRBOOK_MAX_ENTRIES    \
    ((P2P_ADDRMAN_NEW_BUCKETS + P2P_ADDRMAN_TRIED_BUCKETS) * P2P_ADDRMAN_BUCKET_SLOTS)
#define P2P_ADDR_RESPONSE_ENTRIES   250u     /* addresses sent per getaddr */
/* addr messages of at most this many entries are gossip: addresses new to
 * us in them are forwarded to P2P_ADDR_RELAY_FANOUT random peers. */
#define P2P_ADDR_RELAY_MAX_ENTRIES  10u
#define P2P_ADDR_RELAY_FANOUT       2u
/* Per-peer addr token bucket (as Bitcoin Core): each address a peer sends
 * costs a token; it starts with START, earns one every INTERVAL up to MAX,
 * and GETADDR more when we ask it. Entries beyond are ignored, so one addr
 * flood cannot fill the book. */
#define P2P_ADDR_TOKENS_START       1u
#define P2P_ADDR_TOKEN_INTERVAL_MS  10000u   /* 0.1 address per second */
#define P2P_ADDR_TOKENS_MAX         1000u
#define P2P_ADDR_GETADDR_TOKENS     P2P_MAX_ADDR_ENTRIES
#define P2P_MAX_ADDED_PEERS         64u      /* --connect / addnode entries */
/* Outbound peers remembered across a restart and dialled first (as Bitcoin
 * Core's two block-relay anchors): few, so a past outbound attacker cannot
 * make itself most of our connections, enough that one honest one is. */
#define P2P_MAX_ANCHORS             2u
/* v2 transport: outbound addresses that answered our v2 key by hanging up
 * are dialled with v1 next time; the oldest is forgotten past this. */
#define P2P_V1_ONLY_MAX_ENTRIES     256u
/* Node keys a private testnet may allow (--peerkey). */
#define P2P_MAX_ALLOWED_KEYS        64u
#define P2P_RECONNECT_MIN_MS        1000u
#define P2P_RECONNECT_MAX_MS        60000u
/* Inbound connections still in the handshake: bounded apart from
 * inbound_max, so connections that trickle `version` cannot hold the
 * inbound slots. When full, the oldest handshake of the most crowded
 * network group gives way (an honest handshake takes one round trip). */
#define P2P_MAX_HANDSHAKING_INBOUND 16u
/* Inbound eviction protections (p2p/evict.h): peers kept per rule. */
#define P2P_EVICT_PROTECT_NETGROUPS 4u   /* one per distinct network group */
#define P2P_EVICT_PROTECT_PING      8u   /* lowest round trip */
#define P2P_EVICT_PROTECT_TX        4u   /* most recent new tx */
#define P2P_EVICT_PROTECT_BLOCK     4u   /* most recent new block */
/* Live operator bans (setban): only the operator fills this table. */
#define P2P_MAX_BANS                1024u
/* Discouraged addresses: a rolling filter of two generations of this many
 * salted ids (exact, grows with use to ~32 bytes per entry). No ceiling:
 * adding always works and forgets the oldest, so the last GEN are always
 * remembered (Bitcoin Core keeps 50,000 in a rolling Bloom filter). */
#define P2P_DISCOURAGE_GEN_ENTRIES  25000u
/* Subnets whose peers are never discouraged (whitelist / noban). */
#define P2P_MAX_NOBAN_SUBNETS       16u

/* ---- Misbehaviour ---- */
#define P2P_BAN_SCORE               100       /* reaching it: disconnect + discourage */
#define P2P_BAN_MS_DEFAULT          (24ull * 3600 * 1000)
#define P2P_SCORE_MALFORMED         100       /* bad checksum, bad encoding, oversize */
#define P2P_SCORE_INVALID_BLOCK     100       /* bad PoW, merkle, txs ... */
#define P2P_SCORE_INVALID_HEADER    100
#define P2P_SCORE_INVALID_TX        100       /* bad signature or form: never honest */
#define P2P_SCORE_PROTOCOL          10        /* message out of order, duplicate version */
#define P2P_SCORE_UNSOLICITED       1         /* body nobody asked for */

/* ---- Relations ---- */
_Static_assert(P2P_MAX_INV_ENTRIES <= 0xffff && P2P_MAX_ADDR_ENTRIES <= 0xffff
               && P2P_MAX_HEADERS_ENTRIES <= 0xffff && P2P_MAX_RECON_NODES <= 0xffff,
               "list counts take a 3-byte varint at most, as the caps assume");
_Static_assert(P2P_MAX_BLOCK_BYTES <= P2P_MAX_PAYLOAD_BYTES, "block must fit a frame");
_Static_assert(P2P_MAX_INV_BYTES <= P2P_MAX_PAYLOAD_BYTES, "inv must fit a frame");
_Static_assert(P2P_MAX_HEADERS_BYTES <= P2P_MAX_PAYLOAD_BYTES, "headers must fit a frame");
_Static_assert(P2P_MAX_RECON_BYTES <= P2P_MAX_PAYLOAD_BYTES, "recon must fit a frame");
_Static_assert(P2P_PUSH_BUCKETS >= 1 && P2P_PUSH_BUCKETS <= 32, "a bucket bitmap is a u32");
_Static_assert(P2P_PUSH_BUCKETS <= 256, "a bucket fits p2p_push_seen's u8");
_Static_assert(P2P_PUSH_PROBE_STREAK_MAX >= 1 && P2P_PUSH_PROBE_STREAK_MAX <= 127, "u8 streak");
_Static_assert((P2P_PUSH_SEEN_SLOTS & (P2P_PUSH_SEEN_SLOTS - 1)) == 0, "seen slots: power of two");
_Static_assert(P2P_MAX_ADDR_BYTES <= P2P_MAX_PAYLOAD_BYTES, "addr must fit a frame");
_Static_assert(P2P_RECV_BUFFER_MAX_BYTES >= P2P_HEADER_BYTES + P2P_MAX_PAYLOAD_BYTES,
               "receive buffer holds the largest frame");
_Static_assert(P2P_MAX_PREHANDSHAKE_PAYLOAD_BYTES >= P2P_MAX_VERSION_BYTES,
               "a version of any allowed size passes before the handshake");
_Static_assert(P2P_RECV_BUFFER_MIN_BYTES <= P2P_RECV_BUFFER_KEEP_BYTES,
               "the first buffer is one that is kept");
_Static_assert(P2P_SEND_QUEUE_MAX_BYTES > P2P_SEND_QUEUE_PAUSE_BYTES
               && P2P_SEND_QUEUE_PAUSE_BYTES > P2P_SEND_QUEUE_RESUME_BYTES,
               "flow-control thresholds are ordered");
_Static_assert(P2P_SEND_QUEUE_PAUSE_BYTES >= 2 * (P2P_HEADER_BYTES + P2P_MAX_BLOCK_BYTES),
               "a peer can always receive two largest blocks before we pause");
_Static_assert(P2P_SEND_PEER_FLOOR_BYTES <= P2P_SEND_SERVE_BELOW_BYTES
               && P2P_SEND_SERVE_BELOW_BYTES + P2P_HEADER_BYTES + P2P_MAX_BLOCK_BYTES
                      < P2P_SEND_QUEUE_PAUSE_BYTES,
               "bodies alone never pause reading nor fill a peer's queue");
_Static_assert(P2P_SEND_NODE_MAX_BYTES - P2P_SEND_NODE_BUDGET_BYTES
                   >= 2 * (P2P_HEADER_BYTES + P2P_MAX_BLOCK_BYTES),
               "above the budget, room for the shares of at least two peers");
_Static_assert(P2P_SEND_NODE_BUDGET_BYTES >= 4 * (P2P_HEADER_BYTES + P2P_MAX_BLOCK_BYTES),
               "the budget holds several largest blocks");
_Static_assert(P2P_GETDATA_QUEUE_MAX_ENTRIES >= 2 * (P2P_MAX_TX_IN_FLIGHT + P2P_MAX_BLOCKS_IN_FLIGHT),
               "a requester's whole window waits twice over");
_Static_assert(P2P_SEND_STALL_CONTENDED_MS <= P2P_SEND_STALL_MS, "contention only shortens it");
_Static_assert(P2P_PING_TIMEOUT_MS < P2P_IDLE_TIMEOUT_MS, "ping detects death before idle");
_Static_assert(P2P_PING_INTERVAL_MS < P2P_PING_TIMEOUT_MS, "ping more often than its timeout");
_Static_assert(P2P_RECON_MAX_DEPTH * P2P_RECON_FANOUT_BITS <= 32, "prefix fits a u32");
_Static_assert(P2P_RECON_LEAF_ENTRIES * P2P_RECON_CHILDREN <= P2P_MAX_RECON_IDS,
               "a split bucket's listings fit one message");
_Static_assert(P2P_MAX_HEADERS_ENTRIES >= P2P_BLOCK_FETCH_LOOKAHEAD, "headers cover lookahead");
_Static_assert(P2P_MAX_TX_IN_FLIGHT + P2P_MAX_BLOCKS_IN_FLIGHT <= P2P_MAX_INV_ENTRIES,
               "one getdata holds a peer's whole window");
_Static_assert(P2P_TXREQ_MAX_ANNOUNCERS <= 255, "announcer count fits a u8");
_Static_assert(P2P_TXREQ_RESERVED_ENTRIES < P2P_TXREQ_MAX_ENTRIES,
               "the shared part of the tracker is not empty");
_Static_assert(P2P_TXREQ_FAIR_PER_PEER <= P2P_TXREQ_MAX_PER_PEER, "fair share within the cap");
_Static_assert(P2P_INV_WINDOW_ENTRIES < P2P_TXREQ_MAX_PER_PEER,
               "an announcement window fits the receiver's per-peer cap");
_Static_assert(P2P_ADDR_RELAY_MAX_ENTRIES <= P2P_MAX_ADDR_ENTRIES, "gossip is a small addr");
_Static_assert(P2P_POLL_BATCH_ENTRIES <= P2P_MAX_INV_ENTRIES, "a poll batch fits one getdata");
_Static_assert(P2P_RECON_WORK_PEER_MAX <= P2P_RECON_WORK_NODE_MAX, "a peer's share fits the node's");
_Static_assert(P2P_RECON_WORK_PEER_MAX >= 4u * (P2P_MAX_RECON_IDS + P2P_MAX_RECON_NODES * 17u),
               "an honest peer's full-size message fits its budget several times");
_Static_assert(P2P_RECON_BUDGET_MSGS >= 4 * (P2P_RECON_MAX_DEPTH + 2),
               "the budget allows several complete rounds");
_Static_assert(P2P_RECONNECT_MIN_MS <= P2P_RECONNECT_MAX_MS, "backoff bounds ordered");
_Static_assert(P2P_LOWWORK_HEADERS_BURST >= P2P_MAX_HEADERS_ENTRIES, "a full headers message fits the burst");
_Static_assert((P2P_VERIFY_MAX_JOBS & (P2P_VERIFY_MAX_JOBS - 1)) == 0, "job ring is a power of two");
_Static_assert(P2P_VERIFY_BLOCK_MIN_SIGS <= P2P_VERIFY_MAX_JOBS, "a cold block fits the job ring");
_Static_assert(P2P_MAX_ANCHORS <= P2P_MAX_ADDED_PEERS, "anchors fit the added table");
_Static_assert(P2P_ADDRMAN_NEW_BUCKETS_PER_SOURCE_GROUP * 16 <= P2P_ADDRMAN_NEW_BUCKETS,
               "one source group reaches at most 1/16 of the new table");
_Static_assert(P2P_ADDRMAN_TRIED_BUCKETS_PER_GROUP * 16 <= P2P_ADDRMAN_TRIED_BUCKETS,
               "one group reaches at most 1/16 of the tried table");
_Static_assert(P2P_ADDRMAN_TRIED_BUCKETS <= P2P_ADDRMAN_NEW_BUCKETS, "tried is the smaller table");
_Static_assert(P2P_ADDRBOOK_MAX_ENTRIES < 0xffff, "a table cell fits a u16");
_Static_assert(P2P_ADDRMAN_SLOT_CHOICES >= 1 && P2P_ADDRMAN_SLOT_CHOICES <= 4
                   && P2P_ADDRMAN_BUCKET_SLOTS <= 256,
               "slot choices come from one 64-bit hash");
_Static_assert(P2P_NONPREFERRED_DELAY_MS < P2P_TX_REQUEST_TIMEOUT_MS, "delay below timeout");
_Static_assert(P2P_MAX_CMPCT_TXS <= 0xffff, "compact block counts and indexes take 3-byte varints");
_Static_assert(P2P_MAX_GETBLOCKTXN_BYTES <= P2P_MAX_PAYLOAD_BYTES, "getblocktxn must fit a frame");
_Static_assert(P2P_CMPCT_TXN_TIMEOUT_MS < P2P_BLOCK_REQUEST_TIMEOUT_MS,
               "the full-block fallback is asked for before the block request times out");
_Static_assert(P2P_CMPCT_PREFILL_MAX_BYTES < P2P_MAX_CMPCTBLOCK_BYTES / 2,
               "prefills leave a cmpctblock far below a block");
_Static_assert(P2P_CMPCT_HB_PEERS <= P2P_OUTBOUND_TARGET_DEFAULT, "a few HB peers");
_Static_assert(P2P_PUSH_LAZY_DELAY_MS < P2P_TX_REQUEST_TIMEOUT_MS, "delay below timeout");
_Static_assert(P2P_MAX_NAME_BYTES < P2P_MAX_USER_AGENT_BYTES, "name fits the user agent");
_Static_assert(P2P_PRESYNC_BUFFER_HEADERS >= 16 * P2P_PRESYNC_COMMIT_PERIOD,
               "a swapped chain meets 16 commitments before any of it is stored");
_Static_assert(P2P_HEADERS_ABANDON_MS >= 2 * P2P_BLOCK_REQUEST_TIMEOUT_MS,
               "a body is asked of two peers in turn before its chain is abandoned");

#endif
