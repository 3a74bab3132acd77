//! The Merkle tree of RFC 9162 §2.1 over the audit log: hashes, tree
//! heads, inclusion and consistency proofs, and their verification
//! (§2.1.3.2, §2.1.4.2), plus the compact frontier that lets a checkpoint
//! grow with the log without rehashing what it already covered.
//!
//! A leaf is one audit entry: `SHA-256(0x00 ‖ the 32 bytes of its hash)`.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// MTH(D[n]) over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        _ => {
            let mut f = Frontier::default();
            for l in leaves {
                f.push(*l);
            }
            f.root()
        }
    }
}

/// PATH(m, D[n]): the inclusion proof of leaf `index` in the tree of
/// `leaves` (§2.1.3.1), sibling hashes from the leaf up.
pub fn inclusion_path(index: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n < PARALLEL_FROM {
        let mut out = Vec::new();
        path(index, leaves, &mut out);
        return out;
    }
    // The top split's sibling subtree is hashed on a second thread while
    // this one walks down the other side.
    let k = split(n);
    let (index, walk, sibling) = if index < k {
        (index, &leaves[..k], &leaves[k..])
    } else {
        (index - k, &leaves[k..], &leaves[..k])
    };
    std::thread::scope(|s| {
        let other = s.spawn(|| root(sibling));
        let mut out = Vec::new();
        path(index, walk, &mut out);
        out.push(other.join().expect("hashing does not panic"));
        out
    })
}

/// Below this many leaves a second thread costs more than it saves.
const PARALLEL_FROM: usize = 1 << 14;

fn path(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
    if d.len() <= 1 {
        return;
    }
    let k = split(d.len());
    if m < k {
        path(m, &d[..k], out);
        out.push(root(&d[k..]));
    } else {
        path(m - k, &d[k..], out);
        out.push(root(&d[..k]));
    }
}

/// PROOF(m, D[n]): the consistency proof between the first `old` leaves
/// and all of `leaves` (§2.1.4.1). Empty when `old` is 0 or the whole.
pub fn consistency_path(old: usize, leaves: &[Hash]) -> Vec<Hash> {
    let mut out = Vec::new();
    if old > 0 && old < leaves.len() {
        subproof(old, leaves, true, &mut out);
    }
    out
}

fn subproof(m: usize, d: &[Hash], b: bool, out: &mut Vec<Hash>) {
    let n = d.len();
    if m == n {
        if !b {
            out.push(root(d));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &d[..k], b, out);
        out.push(root(&d[k..]));
    } else {
        subproof(m - k, &d[k..], false, out);
        out.push(root(&d[..k]));
    }
}

/// §2.1.3.2: does `path` prove leaf `leaf` at `index` in a tree of `size`
/// leaves with root `root`?
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// §2.1.4.2: does `path` prove that the tree of `old_size` leaves with
/// root `old_root` is a prefix of the tree of `new_size` with `new_root`?
/// Equal sizes need equal roots and an empty path; size 0 is a prefix of
/// everything.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    path: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return path.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return path.is_empty();
    }
    if path.is_empty() {
        return false;
    }
    let mut path = path.to_vec();
    if old_size.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    fr == *old_root && sr == *new_root && sn == 0
}

/// The roots of the perfect subtrees that make up a tree of `size` leaves,
/// largest first: enough to append leaves and compute the root without the
/// leaves themselves (at most 64 hashes for any size).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    pub size: u64,
    pub hashes: Vec<Hash>,
}

impl Frontier {
    /// Appends one leaf hash: two SHA-256 compressions on average.
    pub fn push(&mut self, leaf: Hash) {
        let mut h = leaf;
        let mut s = self.size;
        while s & 1 == 1 {
            let left = self.hashes.pop().expect("one subtree per set bit of size");
            h = node_hash(&left, &h);
            s >>= 1;
        }
        self.hashes.push(h);
        self.size += 1;
    }

    /// MTH of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut it = self.hashes.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |r, left| node_hash(left, &r))
    }

    /// A frontier read back from storage is usable only if it has one hash
    /// per set bit of its size.
    pub fn is_well_formed(&self) -> bool {
        self.hashes.len() == self.size.count_ones() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).unwrap();
        out
    }

    /// The RFC 6962 reference inputs and tree heads used by Certificate
    /// Transparency's own test suites (google/certificate-transparency,
    /// merkle tree tests; the same values appear in transparency-dev/merkle).
    const INPUTS: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn leaves() -> Vec<Hash> {
        INPUTS
            .iter()
            .map(|i| leaf_hash(&hex::decode(i).unwrap()))
            .collect()
    }

    #[test]
    fn roots_match_the_rfc_6962_reference() {
        let l = leaves();
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for n in 1..=8 {
            assert_eq!(hex::encode(root(&l[..n])), ROOTS[n - 1], "size {n}");
        }
    }

    #[test]
    fn proofs_match_the_published_vectors() {
        let l = leaves();
        let inclusion: [(usize, usize, &[&str]); 3] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
        ];
        for (index, size, want) in inclusion {
            let got = inclusion_path(index, &l[..size]);
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(got, want, "inclusion {index}/{size}");
            assert!(verify_inclusion(
                index as u64,
                size as u64,
                &l[index],
                &got,
                &h(ROOTS[size - 1])
            ));
        }
        let consistency: [(usize, usize, &[&str]); 2] = [
            (
                2,
                8,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (old, new, want) in consistency {
            let got = consistency_path(old, &l[..new]);
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(got, want, "consistency {old}->{new}");
            assert!(verify_consistency(
                old as u64,
                new as u64,
                &h(ROOTS[old - 1]),
                &h(ROOTS[new - 1]),
                &got
            ));
        }
    }

    #[test]
    fn every_proof_of_every_shape_verifies_and_a_mangled_one_does_not() {
        let l: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let roots: Vec<Hash> = (0..=l.len()).map(|n| root(&l[..n])).collect();
        for n in 1..=l.len() {
            for i in 0..n {
                let p = inclusion_path(i, &l[..n]);
                assert!(verify_inclusion(i as u64, n as u64, &l[i], &p, &roots[n]));
                assert!(!verify_inclusion(
                    i as u64,
                    n as u64,
                    &l[(i + 1) % 40],
                    &p,
                    &roots[n]
                ));
                if let Some(last) = p.len().checked_sub(1) {
                    let mut bad = p.clone();
                    bad[last][0] ^= 1;
                    assert!(!verify_inclusion(
                        i as u64, n as u64, &l[i], &bad, &roots[n]
                    ));
                    assert!(!verify_inclusion(
                        i as u64,
                        n as u64,
                        &l[i],
                        &p[..last],
                        &roots[n]
                    ));
                }
                let mut long = p.clone();
                long.push([0xab; 32]);
                assert!(!verify_inclusion(
                    i as u64, n as u64, &l[i], &long, &roots[n]
                ));
            }
            for m in 0..=n {
                let p = consistency_path(m, &l[..n]);
                assert!(
                    verify_consistency(m as u64, n as u64, &roots[m], &roots[n], &p),
                    "{m}->{n}"
                );
                if let Some(last) = p.len().checked_sub(1) {
                    let mut bad = p.clone();
                    bad[last][3] ^= 0x80;
                    assert!(!verify_consistency(
                        m as u64, n as u64, &roots[m], &roots[n], &bad
                    ));
                    assert!(!verify_consistency(
                        m as u64,
                        n as u64,
                        &roots[m],
                        &roots[n],
                        &p[..last]
                    ));
                }
                if m > 0 && m < n {
                    // A different old tree of the same size is not a prefix.
                    let mut other = l[..m].to_vec();
                    other[m - 1][0] ^= 1;
                    assert!(!verify_consistency(
                        m as u64,
                        n as u64,
                        &root(&other),
                        &roots[n],
                        &p
                    ));
                }
            }
        }
    }

    #[test]
    fn a_large_tree_hashed_on_two_threads_gives_the_same_path() {
        let l: Vec<Hash> = (0u32..40_000)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        let r = root(&l);
        for i in [0, 1, 32_767, 32_768, 39_999] {
            let p = inclusion_path(i, &l);
            let mut sequential = Vec::new();
            path(i, &l, &mut sequential);
            assert_eq!(p, sequential, "leaf {i}");
            assert!(verify_inclusion(i as u64, l.len() as u64, &l[i], &p, &r));
        }
    }

    #[test]
    fn the_frontier_grows_without_the_leaves() {
        let l: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut f = Frontier::default();
        assert_eq!(f.root(), empty_root());
        for (n, leaf) in l.iter().enumerate() {
            f.push(*leaf);
            assert!(f.is_well_formed());
            assert_eq!(f.root(), root(&l[..=n]));
        }
    }
}
