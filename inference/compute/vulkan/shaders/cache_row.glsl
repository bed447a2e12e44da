// cache_row is the KV cache row of position p: p itself, or with a block
// size b > 0 row p%b of block pos[table + p/b] of a pool of blocks (the
// block table follows the tokens' positions in binding P, see
// compute.AttentionParams.BlockSize). Graph.Attention checked the table.
uint cache_row(int p, uint table, int b) {
    return b > 0 ? uint(pos[table + uint(p / b)] * b + p % b) : uint(p);
}
