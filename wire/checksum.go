package wire

import (
	"hash/fnv"
	"strconv"
)

// RowHash is one live feed row's share of its bucket checksum: the 64-bit
// FNV-1a hash of entity, NUL, id, NUL, decimal seq, NUL, and the row's
// data exactly as stored (its replicated JSON). A bucket's checksum is the
// sum (mod 2^64) of its live rows' hashes, so server and client compute it
// from the rows in any order, and a row whose content differs (changed
// without a new seq) changes it.
func RowHash(entity, id string, seq int64, data []byte) uint64 {
	h := fnv.New64a()
	h.Write([]byte(entity))
	h.Write([]byte{0})
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, seq, 10))
	h.Write([]byte{0})
	h.Write(data)
	return h.Sum64()
}
