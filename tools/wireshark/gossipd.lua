-- gossipd.lua: a Wireshark / tshark dissector for the gossipd P2P protocol
-- (docs/PROTOCOL.md). It decodes the frame header and every message and field:
-- version, verack, ping, pong, addr, getaddr, inv, getdata, notfound, tx, block,
-- getheaders, headers, sendheaders, mempool, recon, sendcmpct, cmpctblock,
-- getblocktxn, blocktxn, pushreq; unknown commands are shown raw. Hashes are shown the way RPC and logs show them (bytes reversed), and the
-- dissector computes each tx's txid and each header's block hash (SHA256d).
--
-- Load it with
--   wireshark -X lua_script:tools/wireshark/gossipd.lua
--   tshark    -X lua_script:tools/wireshark/gossipd.lua -r capture.pcap
-- or copy it to ~/.local/lib/wireshark/plugins/. Ports 19444 (regtest) and 29444
-- (testnet) are registered; on any other port a TCP stream that starts with a
-- gossipd magic is recognised by a heuristic (add `-o tcp.try_heuristic_first:TRUE`
-- when a port number belongs to another protocol), or use Decode As... gossipd.
--
-- A payload that does not decode the way gossipd's own decoders demand (truncated,
-- non-minimal varint, count above its cap, bad type or kind, trailing bytes) gets
-- the expert error gossipd.malformed, so `tshark -Y gossipd.malformed` finds it.
--
-- Lua 5.2 (Wireshark 3.x / 4.0: bit32) or 5.3+ (native operators via bit32 shim).

local bit = bit32
if not bit then
    -- Lua 5.3+: a minimal bit32 from the native operators (loaded as a chunk so
    -- that 5.2 does not choke on the syntax).
    bit = load([[
        local M = {}
        function M.band(a, b) return (a & b) & 0xffffffff end
        function M.bor(a, b) return (a | b) & 0xffffffff end
        function M.bxor(a, b, c) return (a ~ b ~ (c or 0)) & 0xffffffff end
        function M.bnot(a) return (~a) & 0xffffffff end
        function M.rshift(a, n) return (a & 0xffffffff) >> n end
        function M.rrotate(a, n) a = a & 0xffffffff
            return ((a >> n) | (a << (32 - n))) & 0xffffffff end
        return M]])()
end

-- ---------------------------------------------------------------- SHA-256

local K = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local M32 = 0x100000000

local function sha256(msg)
    local band, bxor, bnot, rrot, rsh = bit.band, bit.bxor, bit.bnot, bit.rrotate, bit.rshift
    local h = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
    local ml = #msg
    local bits, len = ml * 8, {}
    for i = 8, 1, -1 do
        len[i] = string.char(bits % 256)
        bits = math.floor(bits / 256)
    end
    msg = msg .. "\128" .. string.rep("\0", (55 - ml) % 64) .. table.concat(len)
    local w = {}
    for chunk = 1, #msg, 64 do
        for i = 0, 15 do
            local a, b, c, d = msg:byte(chunk + 4 * i, chunk + 4 * i + 3)
            w[i] = ((a * 256 + b) * 256 + c) * 256 + d
        end
        for i = 16, 63 do
            local x, y = w[i - 15], w[i - 2]
            local s0 = bxor(rrot(x, 7), rrot(x, 18), rsh(x, 3))
            local s1 = bxor(rrot(y, 17), rrot(y, 19), rsh(y, 10))
            w[i] = (w[i - 16] + s0 + w[i - 7] + s1) % M32
        end
        local a, b, c, d, e, f, g, hh = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
        for i = 0, 63 do
            local S1 = bxor(rrot(e, 6), rrot(e, 11), rrot(e, 25))
            local ch = bxor(band(e, f), band(bnot(e), g))
            local t1 = (hh + S1 + ch + K[i + 1] + w[i]) % M32
            local S0 = bxor(rrot(a, 2), rrot(a, 13), rrot(a, 22))
            local maj = bxor(band(a, b), band(a, c), band(b, c))
            local t2 = (S0 + maj) % M32
            hh, g, f, e, d, c, b, a = g, f, e, (d + t1) % M32, c, b, a, (t1 + t2) % M32
        end
        h[1], h[2], h[3], h[4] = (h[1] + a) % M32, (h[2] + b) % M32, (h[3] + c) % M32, (h[4] + d) % M32
        h[5], h[6], h[7], h[8] = (h[5] + e) % M32, (h[6] + f) % M32, (h[7] + g) % M32, (h[8] + hh) % M32
    end
    local out = {}
    for i = 1, 8 do
        local v = h[i]
        out[i] = string.char(math.floor(v / 16777216) % 256, math.floor(v / 65536) % 256,
                             math.floor(v / 256) % 256, v % 256)
    end
    return table.concat(out)
end

local function sha256d(s) return sha256(sha256(s)) end

-- 32 raw bytes -> hex in display order (reversed), as RPC and the logs show hashes.
local function display_hex(raw)
    return (raw:reverse():gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function plain_hex(raw)
    return (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- ---------------------------------------------------------------- protocol

local HEADER_BYTES = 24
local MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
local CHECKSUM_MAX_BYTES = 1024 * 1024   -- payloads above this: checksum not verified
local MAGICS = { [0x74727367] = "regtest", [0x6e747367] = "testnet" }
local TX_VERSION = 1
local MEMO_MAX = 256
local TX_MIN_BYTES = 154     -- an empty memo: 1 + 32 + 32 + 8 + 8 + 8 + 1 + 64
local USER_AGENT_MAX = 256
local CAP = { addr = 1000, inv = 50000, headers = 2000, locator = 101,
              recon_nodes = 4096, recon_ids = 4096, recon_depth = 8,
              cmpct_txs = 27235 }   -- P2P_MAX_CMPCT_TXS = BLOCK_TX_MAX
local SHORTID_BYTES = 6             -- P2P_CMPCT_SHORTID_BYTES
local PUSH_BUCKETS = 32             -- P2P_PUSH_BUCKETS: bits of pushreq's bitmaps
local INV_TYPES = { [1] = "tx", [2] = "block", [4] = "cmpct" }
local RECON_KINDS = { [0] = "summary", [1] = "listing" }

local p = Proto("gossipd", "gossipd P2P protocol")

local F = {}
local function field(name, ctor, abbr, label, ...)
    F[name] = ctor("gossipd." .. abbr, label, ...)
end
field("magic", ProtoField.uint32, "magic", "Magic", base.HEX, MAGICS)
field("command", ProtoField.string, "command", "Command")
field("length", ProtoField.uint32, "length", "Payload length")
field("checksum", ProtoField.bytes, "checksum", "Checksum")
field("checksum_ok", ProtoField.bool, "checksum_ok", "Checksum correct")
field("payload", ProtoField.bytes, "payload", "Payload")
-- version
field("v_version", ProtoField.int32, "version.version", "Protocol version")
field("v_services", ProtoField.uint64, "version.services", "Services", base.HEX)
field("v_timestamp", ProtoField.int64, "version.timestamp", "Timestamp (s)")
field("v_nonce", ProtoField.uint64, "version.nonce", "Nonce", base.HEX)
field("v_ua", ProtoField.string, "version.user_agent", "User agent")
field("v_name", ProtoField.string, "version.name", "Node name")
field("v_height", ProtoField.int32, "version.start_height", "Start height")
field("v_relay", ProtoField.uint8, "version.relay", "Relay txs", base.DEC,
      { [0] = "no", [1] = "yes" })
-- netaddr
field("na_services", ProtoField.uint64, "addr.services", "Services", base.HEX)
field("na_ip", ProtoField.ipv6, "addr.ip", "IP (IPv6 form)")
field("na_ipv4", ProtoField.ipv4, "addr.ipv4", "IPv4")
field("na_port", ProtoField.uint16, "addr.port", "Port")
field("na_time", ProtoField.uint32, "addr.time", "Time (s)")
-- common
field("count", ProtoField.uint64, "count", "Count")
field("nonce", ProtoField.uint64, "nonce", "Nonce", base.HEX)
-- inv
field("inv_type", ProtoField.uint32, "inv.type", "Type", base.DEC, INV_TYPES)
field("inv_hash", ProtoField.string, "inv.hash", "Hash")
-- tx
field("tx_version", ProtoField.uint8, "tx.version", "Version")
field("tx_from", ProtoField.bytes, "tx.from", "From (public key)")
field("tx_to", ProtoField.bytes, "tx.to", "To (public key)")
field("tx_amount", ProtoField.uint64, "tx.amount", "Amount (base units)")
field("tx_fee", ProtoField.uint64, "tx.fee", "Fee")
field("tx_nonce", ProtoField.uint64, "tx.nonce", "Nonce")
field("tx_memo", ProtoField.string, "tx.memo", "Memo")
field("tx_memo_len", ProtoField.uint64, "tx.memo_len", "Memo length")
field("tx_sig", ProtoField.bytes, "tx.sig", "Signature")
field("tx_coinbase", ProtoField.bool, "tx.coinbase", "Coinbase")
field("txid", ProtoField.string, "tx.txid", "Txid")
-- block header
field("h_version", ProtoField.uint32, "block.version", "Version")
field("h_prev", ProtoField.string, "block.prev", "Previous block")
field("h_merkle", ProtoField.string, "block.merkle_root", "Merkle root")
field("h_time", ProtoField.uint64, "block.time_ms", "Time (ms since the epoch)")
field("h_bits", ProtoField.uint32, "block.bits", "Bits", base.HEX)
field("h_nonce", ProtoField.uint64, "block.nonce", "Nonce")
field("h_hash", ProtoField.string, "block.hash", "Block hash")
field("h_txs", ProtoField.uint64, "block.tx_count", "Tx count")
-- getheaders
field("gh_version", ProtoField.uint32, "getheaders.version", "Version")
field("gh_locator", ProtoField.string, "getheaders.locator", "Locator hash")
field("gh_stop", ProtoField.string, "getheaders.stop", "Stop hash")
-- recon
field("r_kind", ProtoField.uint8, "recon.kind", "Kind", base.DEC, RECON_KINDS)
field("r_depth", ProtoField.uint8, "recon.depth", "Depth")
field("r_prefix", ProtoField.uint32, "recon.prefix", "Prefix", base.HEX)
field("r_count", ProtoField.uint64, "recon.count", "Count")
field("r_xor", ProtoField.uint64, "recon.xor", "XOR of short ids", base.HEX)
field("r_txid", ProtoField.string, "recon.txid", "Txid")
-- compact blocks
field("sc_hb", ProtoField.uint8, "sendcmpct.hb", "High-bandwidth", base.DEC,
      { [0] = "no", [1] = "yes" })
field("sc_version", ProtoField.uint64, "sendcmpct.version", "Version")
field("cb_nonce", ProtoField.uint64, "cmpct.nonce", "Short-id nonce", base.HEX)
field("cb_shortid", ProtoField.uint64, "cmpct.shortid", "Short id", base.HEX)
field("cb_index", ProtoField.uint32, "cmpct.index", "Tx index")
field("cb_txs", ProtoField.uint32, "cmpct.tx_count", "Block tx count")
field("bt_hash", ProtoField.string, "blocktxn.hash", "Block hash")
-- pushreq
field("pr_graft", ProtoField.uint32, "pushreq.graft", "Graft buckets", base.HEX)
field("pr_prune", ProtoField.uint32, "pushreq.prune", "Prune buckets", base.HEX)

local list = {}
for _, f in pairs(F) do list[#list + 1] = f end
p.fields = list

local E_MALFORMED = ProtoExpert.new("gossipd.malformed", "Malformed gossipd message",
                                    expert.group.MALFORMED, expert.severity.ERROR)
local E_CHECKSUM = ProtoExpert.new("gossipd.bad_checksum", "Bad checksum",
                                   expert.group.CHECKSUM, expert.severity.ERROR)
p.experts = { E_MALFORMED, E_CHECKSUM }

-- ---------------------------------------------------------------- a bounded reader

-- Reads a payload the way gossipd's decoders do; any violation raises
-- { malformed = "reason" }, caught in dissect_message.
local R = {}
R.__index = R

local function reader(tvb, off, len)
    return setmetatable({ tvb = tvb, off = off, stop = off + len }, R)
end

local function bad(why) error({ malformed = why }, 0) end

-- A varint value for a uint64 field (which wants a UInt64, not a Lua number).
local function u64(v)
    return UInt64.new(v % M32, math.floor(v / M32))
end

function R:left() return self.stop - self.off end

function R:take(n, what)
    if n > self:left() then bad("truncated " .. what) end
    local r = self.tvb(self.off, n)
    self.off = self.off + n
    return r
end

-- CompactSize, minimal encoding required. Returns (number, range).
function R:varint(what)
    local start = self.off
    local b = self:take(1, what):uint()
    local v
    if b < 0xfd then
        v = b
    elseif b == 0xfd then
        v = self:take(2, what):le_uint()
        if v < 0xfd then bad("non-minimal varint " .. what) end
    elseif b == 0xfe then
        v = self:take(4, what):le_uint()
        if v <= 0xffff then bad("non-minimal varint " .. what) end
    else
        local r = self:take(8, what)
        local hi = r(4, 4):le_uint()
        v = hi * M32 + r(0, 4):le_uint()
        if hi == 0 then bad("non-minimal varint " .. what) end
    end
    return v, self.tvb(start, self.off - start)
end

-- A count with its cap and the bytes each entry needs at least.
function R:count(tree, what, cap, min_entry)
    local n, r = self:varint(what)
    tree:add(F.count, r, u64(n))
    if cap and n > cap then bad(what .. " count " .. n .. " above its cap " .. cap) end
    if min_entry and n * min_entry > self:left() then
        bad(what .. " count " .. n .. " larger than the bytes behind it")
    end
    return n
end

function R:done()
    if self:left() ~= 0 then bad(self:left() .. " trailing bytes") end
end

-- ---------------------------------------------------------------- message parts

local function add_hash(tree, f, r)
    local h = display_hex(r:bytes():raw())
    tree:add(f, r, h)
    return h
end

local function netaddr(rd, tree, label)
    local r0 = rd.off
    local t = tree:add(p, rd.tvb(r0, 26), label)
    t:add_le(F.na_services, rd:take(8, label))
    local ip = rd:take(16, label)
    local raw = ip:bytes():raw()
    local text
    if raw:sub(1, 12) == string.rep("\0", 10) .. "\255\255" then
        t:add(F.na_ipv4, ip(12, 4))
        text = string.format("%d.%d.%d.%d", raw:byte(13, 16))
    else
        t:add(F.na_ip, ip)
        text = raw == string.rep("\0", 16) and "[::]" or ("[" .. plain_hex(raw) .. "]")
    end
    local port = rd:take(2, label)
    t:add(F.na_port, port)         -- big-endian, as in Bitcoin
    text = text .. ":" .. port:uint()
    t:append_text(": " .. text)
    return text
end

local function header(rd, tree, label)
    local start = rd.off
    local raw = rd.tvb(start, math.min(88, rd:left())):bytes():raw()
    if #raw < 88 then bad("truncated " .. label) end
    local hash = display_hex(sha256d(raw))
    local t = tree:add(p, rd.tvb(start, 88), label .. " " .. hash)
    t:add(F.h_hash, rd.tvb(start, 88), hash):set_generated()
    t:add_le(F.h_version, rd:take(4, label))
    add_hash(t, F.h_prev, rd:take(32, label))
    add_hash(t, F.h_merkle, rd:take(32, label))
    local tm = rd:take(8, label)
    local ti = t:add_le(F.h_time, tm)
    local ms = tm(4, 4):le_uint() * M32 + tm(0, 4):le_uint()
    ti:append_text(" (" .. os.date("!%Y-%m-%dT%H:%M:%S", math.floor(ms / 1000)) ..
                   string.format(".%03dZ)", ms % 1000))
    t:add_le(F.h_bits, rd:take(4, label))
    t:add_le(F.h_nonce, rd:take(8, label))
    return hash, t
end

local function tx(rd, tree, label)
    local start = rd.off
    local t = tree:add(p, rd.tvb(start, 0), label)
    local ver = rd:take(1, "tx")
    t:add(F.tx_version, ver)
    if ver:uint() ~= TX_VERSION then bad("tx-bad-version " .. ver:uint()) end
    local from = rd:take(32, "tx")
    t:add(F.tx_from, from)
    t:add(F.tx_to, rd:take(32, "tx"))
    t:add_le(F.tx_amount, rd:take(8, "tx"))
    t:add_le(F.tx_fee, rd:take(8, "tx"))
    t:add_le(F.tx_nonce, rd:take(8, "tx"))
    local mlen, mr = rd:varint("tx memo")
    t:add(F.tx_memo_len, mr, u64(mlen))
    if mlen > MEMO_MAX then bad("tx-memo-too-large " .. mlen) end
    t:add(F.tx_memo, rd:take(mlen, "tx memo"))
    t:add(F.tx_sig, rd:take(64, "tx"))
    t:add(F.tx_coinbase, from, from:bytes():raw() == string.rep("\0", 32)):set_generated()
    local whole = rd.tvb(start, rd.off - start)
    local txid = display_hex(sha256d(whole:bytes():raw()))
    t:set_len(rd.off - start)
    t:add(F.txid, whole, txid):set_generated()
    t:append_text(" " .. txid)
    return txid
end

local function inv_list(rd, tree, what)
    local n = rd:count(tree, what, CAP.inv, 36)
    local first
    for i = 1, n do
        local r = rd.tvb(rd.off, 36)
        local ty = rd:take(4, what)
        local tyv = ty:le_uint()
        if not INV_TYPES[tyv] then bad(what .. " entry type " .. tyv) end
        local h = display_hex(rd:take(32, what):bytes():raw())
        local t = tree:add(p, r, string.format("%s %s", INV_TYPES[tyv], h))
        t:add_le(F.inv_type, ty)
        t:add(F.inv_hash, r(4, 32), h)
        first = first or (INV_TYPES[tyv] .. " " .. h)
    end
    return n == 1 and first or (n .. " entries")
end

-- ---------------------------------------------------------------- messages

local MSG = {}

MSG.version = function(rd, t)
    t:add_le(F.v_version, rd:take(4, "version"))
    t:add_le(F.v_services, rd:take(8, "version"))
    local ts = rd:take(8, "version")
    local ti = t:add_le(F.v_timestamp, ts)
    ti:append_text(" (" .. os.date("!%Y-%m-%dT%H:%M:%SZ", ts(0, 4):le_uint()) .. ")")
    netaddr(rd, t, "addr_recv")
    netaddr(rd, t, "addr_from")
    t:add_le(F.v_nonce, rd:take(8, "version"))
    local n = rd:varint("user agent")
    if n > USER_AGENT_MAX then bad("user agent of " .. n .. " bytes") end
    local ua = rd:take(n, "user agent")
    local s = ua:string()
    if s:find("[^\32-\126]") then bad("user agent is not printable ASCII") end
    t:add(F.v_ua, ua)
    local name = s:match("%((.*)%)")
    if name then t:add(F.v_name, ua, name):set_generated() end
    t:add_le(F.v_height, rd:take(4, "version"))
    local relay = rd:take(1, "version")
    if relay:uint() > 1 then bad("relay " .. relay:uint()) end
    t:add(F.v_relay, relay)
    return s
end

local function empty() return nil end
MSG.verack, MSG.getaddr, MSG.sendheaders, MSG.mempool = empty, empty, empty, empty

local function ping(rd, t)
    local r = rd:take(8, "nonce")
    t:add_le(F.nonce, r)
    return string.format("nonce %s", tostring(r:le_uint64():tohex()))
end
MSG.ping, MSG.pong = ping, ping

MSG.addr = function(rd, t)
    local n = rd:count(t, "addr", CAP.addr, 30)
    local first
    for i = 1, n do
        local e = t:add(p, rd.tvb(rd.off, 30), "address")
        local tm = rd:take(4, "addr")
        e:add_le(F.na_time, tm):append_text(" (" ..
            os.date("!%Y-%m-%dT%H:%M:%SZ", tm:le_uint()) .. ")")
        local a = netaddr(rd, e, "netaddr")
        e:append_text(" " .. a)
        first = first or a
    end
    return n == 1 and first or (n .. " addresses")
end

MSG.inv = function(rd, t) return inv_list(rd, t, "inv") end
MSG.getdata = function(rd, t) return inv_list(rd, t, "getdata") end
MSG.notfound = function(rd, t) return inv_list(rd, t, "notfound") end

MSG.tx = function(rd, t) return "txid " .. tx(rd, t, "tx") end

MSG.block = function(rd, t)
    local hash = header(rd, t, "header")
    local n = rd:count(t, "block txs", nil, TX_MIN_BYTES)
    for i = 1, n do tx(rd, t, i == 1 and "coinbase" or ("tx " .. i - 1)) end
    return string.format("hash %s, %d txs", hash, n)
end

MSG.getheaders = function(rd, t)
    t:add_le(F.gh_version, rd:take(4, "getheaders"))
    local n = rd:count(t, "locator", CAP.locator, 32)
    for i = 1, n do add_hash(t, F.gh_locator, rd:take(32, "locator")) end
    local stop = add_hash(t, F.gh_stop, rd:take(32, "getheaders stop"))
    return string.format("%d locator hashes%s", n,
                         stop:find("^0+$") and "" or (", stop " .. stop))
end

MSG.headers = function(rd, t)
    local n = rd:count(t, "headers", CAP.headers, 89)
    local first
    for i = 1, n do
        local h, ht = header(rd, t, "header")
        local c, cr = rd:varint("headers tx count")
        ht:add(F.h_txs, cr, u64(c))
        if c ~= 0 then bad("headers entry with tx count " .. c) end
        first = first or h
    end
    return n == 1 and ("hash " .. first) or (n .. " headers")
end

MSG.recon = function(rd, t)
    local n = rd:count(t, "recon nodes", CAP.recon_nodes, 7)
    local ids = 0
    for i = 1, n do
        local start = rd.off
        local nt = t:add(p, rd.tvb(start, 0), "node")
        local kr = rd:take(1, "recon")
        local kind = kr:uint()
        nt:add(F.r_kind, kr)
        if not RECON_KINDS[kind] then bad("recon kind " .. kind) end
        local dr = rd:take(1, "recon")
        local depth = dr:uint()
        nt:add(F.r_depth, dr)
        if depth > CAP.recon_depth then bad("recon depth " .. depth) end
        local pr = rd:take(4, "recon")
        local prefix = pr:le_uint()
        nt:add_le(F.r_prefix, pr)
        if prefix >= 2 ^ (4 * depth) then bad("recon prefix wider than its depth") end
        local c, cr = rd:varint("recon count")
        nt:add(F.r_count, cr, u64(c))
        if c >= M32 then bad("recon count above 2^32") end
        if kind == 0 then
            nt:add_le(F.r_xor, rd:take(8, "recon summary"))
        else
            ids = ids + c
            if ids > CAP.recon_ids then bad("more than " .. CAP.recon_ids .. " txids listed") end
            if c * 32 > rd:left() then bad("recon listing larger than the bytes behind it") end
            for j = 1, c do add_hash(nt, F.r_txid, rd:take(32, "recon listing")) end
        end
        nt:set_len(rd.off - start)
        nt:append_text(string.format(" %s d=%d p=%x count=%d", RECON_KINDS[kind], depth,
                                     prefix, c))
    end
    return string.format("%d nodes", n)
end

-- One delta-encoded index (cmpctblock prefilled, getblocktxn): the index is
-- next + delta, below the cap; returns the index and the next one.
local function cmpct_index(rd, tree, next, what)
    local d, r = rd:varint(what)
    if d > CAP.cmpct_txs then bad(what .. " delta " .. d .. " above " .. CAP.cmpct_txs) end
    local index = next + d
    if index >= CAP.cmpct_txs then bad(what .. " " .. index .. " past the cap") end
    tree:add(F.cb_index, r, index):append_text(" (delta " .. d .. ")")
    return index, index + 1
end

MSG.sendcmpct = function(rd, t)
    local hb = rd:take(1, "sendcmpct")
    t:add(F.sc_hb, hb)
    local vr = rd:take(8, "sendcmpct")
    t:add_le(F.sc_version, vr)
    if hb:uint() > 1 then bad("sendcmpct hb " .. hb:uint()) end
    return string.format("hb=%d version=%s", hb:uint(), tostring(vr:le_uint64()))
end

MSG.cmpctblock = function(rd, t)
    local hash = header(rd, t, "header")
    t:add_le(F.cb_nonce, rd:take(8, "cmpctblock nonce"))
    local n = rd:count(t, "short ids", CAP.cmpct_txs, SHORTID_BYTES)
    if n > 0 then
        local st = t:add(p, rd.tvb(rd.off, n * SHORTID_BYTES), n .. " short ids")
        for i = 1, n do
            local r = rd:take(SHORTID_BYTES, "short id")
            local b1, b2, b3, b4, b5, b6 = r:bytes():raw():byte(1, 6)
            st:add(F.cb_shortid, r, UInt64.new(((b4 * 256 + b3) * 256 + b2) * 256 + b1,
                                               b6 * 256 + b5))
        end
    end
    local m = rd:count(t, "prefilled txs", CAP.cmpct_txs - n, 1 + TX_MIN_BYTES)
    if m == 0 then bad("cmpctblock without a prefilled coinbase") end
    local next = 0
    for i = 1, m do
        local start = rd.off
        local pt = t:add(p, rd.tvb(start, 0), "prefilled")
        local index
        index, next = cmpct_index(rd, pt, next, "prefilled index")
        if i == 1 and index ~= 0 then bad("first prefilled index " .. index .. ", not 0") end
        if index >= n + m then bad("prefilled index " .. index .. " past the block") end
        local txid = tx(rd, pt, index == 0 and "coinbase" or ("tx " .. index))
        pt:set_len(rd.off - start)
        pt:append_text(string.format(" %d: %s", index, txid))
    end
    t:add(F.cb_txs, rd.tvb(0, 0), n + m):set_generated()
    return string.format("hash %s, %d txs (%d short ids, %d prefilled)", hash, n + m, n, m)
end

MSG.getblocktxn = function(rd, t)
    local hash = add_hash(t, F.bt_hash, rd:take(32, "getblocktxn hash"))
    local n = rd:count(t, "getblocktxn indexes", CAP.cmpct_txs, 1)
    if n == 0 then bad("getblocktxn asks for no tx") end
    local next = 0
    for i = 1, n do _, next = cmpct_index(rd, t, next, "getblocktxn index") end
    return string.format("hash %s, %d txs", hash, n)
end

MSG.blocktxn = function(rd, t)
    local hash = add_hash(t, F.bt_hash, rd:take(32, "blocktxn hash"))
    local n = rd:count(t, "blocktxn txs", CAP.cmpct_txs, TX_MIN_BYTES)
    for i = 1, n do tx(rd, t, "tx " .. i) end
    return string.format("hash %s, %d txs", hash, n)
end

MSG.pushreq = function(rd, t)
    local gr, pr = rd:take(4, "pushreq"), rd:take(4, "pushreq")
    t:add_le(F.pr_graft, gr)
    t:add_le(F.pr_prune, pr)
    local graft, prune = gr:le_uint(), pr:le_uint()
    local limit = 2 ^ PUSH_BUCKETS
    if graft >= limit or prune >= limit then bad("pushreq bit above bucket " .. PUSH_BUCKETS - 1) end
    if bit.band(graft, prune) ~= 0 then bad("pushreq bucket both grafted and pruned") end
    return string.format("graft %08x prune %08x", graft, prune)
end

-- ---------------------------------------------------------------- framing

local function frame_len(tvb, pinfo, off)
    return HEADER_BYTES + tvb(off + 16, 4):le_uint()
end

local function dissect_frame(tvb, pinfo, tree)
    pinfo.cols.protocol = "gossipd"
    local len = tvb(16, 4):le_uint()
    local cmd = tvb(4, 12):stringz()
    local t = tree:add(p, tvb(0, HEADER_BYTES + len), "gossipd " .. cmd)
    t:add_le(F.magic, tvb(0, 4))
    t:add(F.command, tvb(4, 12), cmd)
    t:add_le(F.length, tvb(16, 4))
    local ck = tvb(20, 4)
    local ci = t:add(F.checksum, ck)
    local payload = len > 0 and tvb(HEADER_BYTES, len) or nil
    if len <= CHECKSUM_MAX_BYTES then
        local want = sha256d(payload and payload:bytes():raw() or ""):sub(1, 4)
        local ok = want == ck:bytes():raw()
        t:add(F.checksum_ok, ck, ok):set_generated()
        if not ok then ci:add_proto_expert_info(E_CHECKSUM) end
    end
    local info
    local fn = MSG[cmd]
    if len > MAX_PAYLOAD_BYTES then
        t:add_proto_expert_info(E_MALFORMED, "payload length above 4 MiB")
    elseif fn then
        local rd = reader(tvb, HEADER_BYTES, len)
        local ok, res = pcall(function()
            local r = fn(rd, t)
            rd:done()
            return r
        end)
        if ok then
            info = res
        elseif type(res) == "table" and res.malformed then
            t:add_proto_expert_info(E_MALFORMED, "malformed " .. cmd .. ": " .. res.malformed)
            info = "MALFORMED: " .. res.malformed
        else
            error(res, 0)
        end
    elseif payload then
        t:add(F.payload, payload):append_text(" (unknown command: ignored by gossipd)")
    end
    local text = cmd .. (info and (" " .. info) or "")
    t:append_text(info and (": " .. info) or "")
    local prev = tostring(pinfo.cols.info)
    if prev:find("^gossipd: ") then
        pinfo.cols.info:append(" | " .. text)
    else
        pinfo.cols.info = "gossipd: " .. text
    end
    return HEADER_BYTES + len
end

function p.dissector(tvb, pinfo, tree)
    dissect_tcp_pdus(tvb, tree, HEADER_BYTES, frame_len, dissect_frame)
    return tvb:len()
end

local function heuristic(tvb, pinfo, tree)
    if tvb:len() < HEADER_BYTES then return false end
    if not MAGICS[tvb(0, 4):le_uint()] then return false end
    -- the command is NUL-padded lowercase ASCII
    local cmd = tvb(4, 12):raw()
    if not cmd:match("^[a-z]+%z*$") then return false end
    pinfo.conversation = p
    p.dissector(tvb, pinfo, tree)
    return true
end

local tcp_port = DissectorTable.get("tcp.port")
tcp_port:add(19444, p)
tcp_port:add(29444, p)
p:register_heuristic("tcp", heuristic)
