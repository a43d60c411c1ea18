//! The voucher planner's arithmetic: which held vouchers serve which
//! part of a plan, and the cheapest mix of packs that covers what is left.

/// A pack that can be ordered: vouchers per pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pack {
    pub size: i64,
}

/// Most combinations of smaller packs tried beside the largest.
const MAX_COMBINATIONS: i64 = 20_000;

/// The cheapest quantities of `packs` covering at least `needed` vouchers,
/// where `cost(i, q)` prices `q` packs of `packs[i]` (quantity discounts
/// included) or is `None` when that order cannot be placed. Ties go to
/// fewer spare vouchers, then fewer packs. `None` when nothing covers it.
///
/// The largest pack takes whatever the smaller ones leave; the smaller ones
/// are tried from none up to what fills one largest pack (more never pays
/// unless a discount makes one size alone cheaper, which is tried too).
pub fn cheapest_mix(needed: i64, packs: &[Pack], cost: impl Fn(usize, i64) -> Option<i64>) -> Option<Vec<i64>> {
    if needed <= 0 {
        return Some(vec![0; packs.len()]);
    }
    let sizes_ok = packs.iter().all(|p| p.size > 0);
    if packs.is_empty() || !sizes_ok {
        return None;
    }
    let ceil = |n: i64, d: i64| (n + d - 1) / d;
    let largest = (0..packs.len()).max_by_key(|i| (packs[*i].size, std::cmp::Reverse(*i)))?;
    let others: Vec<usize> = (0..packs.len()).filter(|i| *i != largest).collect();
    let bounds: Vec<i64> =
        others.iter().map(|i| ceil(packs[largest].size, packs[*i].size).min(ceil(needed, packs[*i].size))).collect();
    let mut candidates: Vec<Vec<i64>> = Vec::new();
    // Each size alone.
    for (i, pack) in packs.iter().enumerate() {
        let mut q = vec![0; packs.len()];
        q[i] = ceil(needed, pack.size);
        candidates.push(q);
    }
    // The smaller packs' combinations, the largest filling the rest.
    let combos = bounds.iter().try_fold(1_i64, |acc, b| acc.checked_mul(b + 1)).unwrap_or(i64::MAX);
    if combos <= MAX_COMBINATIONS {
        let mut counter = vec![0_i64; others.len()];
        loop {
            let mut q = vec![0; packs.len()];
            let mut covered = 0;
            for (k, i) in others.iter().enumerate() {
                q[*i] = counter[k];
                covered += counter[k] * packs[*i].size;
            }
            q[largest] = ceil((needed - covered).max(0), packs[largest].size);
            candidates.push(q);
            // Next combination.
            let mut k = 0;
            loop {
                if k == counter.len() {
                    break;
                }
                if counter[k] < bounds[k] {
                    counter[k] += 1;
                    break;
                }
                counter[k] = 0;
                k += 1;
            }
            if k == counter.len() {
                break;
            }
        }
    }
    let total = |q: &[i64]| -> Option<(i64, i64, i64)> {
        let mut cents = 0_i64;
        for (i, n) in q.iter().enumerate() {
            if *n > 0 {
                cents = cents.checked_add(cost(i, *n)?)?;
            }
        }
        let vouchers: i64 = q.iter().zip(packs).map(|(n, p)| n * p.size).sum();
        Some((cents, vouchers - needed, q.iter().sum()))
    };
    candidates.into_iter().filter_map(|q| total(&q).map(|key| (key, q))).min_by_key(|(key, _)| *key).map(|(_, q)| q)
}

/// Shares `held` vouchers (per kind of pack: how many, and which parts a
/// voucher of it can serve) among parts needing `needed`, each voucher
/// counted once, for the first part it can serve that still needs one.
/// Returns how many each part gets.
pub fn share_held(needed: &[i64], held: &[(i64, Vec<bool>)]) -> Vec<i64> {
    let mut got = vec![0_i64; needed.len()];
    for (count, serves) in held {
        let mut left = *count;
        for (part, serve) in serves.iter().enumerate() {
            if !serve || left == 0 || part >= needed.len() {
                continue;
            }
            let take = left.min(needed[part] - got[part]).max(0);
            got[part] += take;
            left -= take;
        }
    }
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(list: &[(i64, i64)]) -> impl Fn(usize, i64) -> Option<i64> + '_ {
        // (size, price per pack), no discount.
        move |i, q| Some(list[i].1 * q)
    }

    #[test]
    fn one_pack_size_takes_as_many_packs_as_cover_the_need() {
        let packs = [Pack { size: 30 }];
        assert_eq!(cheapest_mix(60, &packs, flat(&[(30, 100)])), Some(vec![2]));
        assert_eq!(cheapest_mix(61, &packs, flat(&[(30, 100)])), Some(vec![3]));
        assert_eq!(cheapest_mix(0, &packs, flat(&[(30, 100)])), Some(vec![0]));
    }

    #[test]
    fn smaller_packs_fill_the_rest_when_cheaper_than_another_large_one() {
        // 500 for 100 000, 125 for 30 000: 620 vouchers -> 1 x 500 + 1 x 125 (130 000),
        // not 2 x 500 (200 000) nor 5 x 125 (150 000).
        let list = [(500, 100_000), (125, 30_000)];
        let packs = [Pack { size: 500 }, Pack { size: 125 }];
        assert_eq!(cheapest_mix(620, &packs, flat(&list)), Some(vec![1, 1]));
        // 900 vouchers: 2 x 500 (200 000) beats 1 x 500 + 4 x 125 (220 000).
        assert_eq!(cheapest_mix(900, &packs, flat(&list)), Some(vec![2, 0]));
    }

    #[test]
    fn a_quantity_discount_can_make_one_size_alone_cheapest() {
        // 125-packs at 30 000, 40% off from 8 packs: 8 x 125 = 1 000 vouchers for 144 000.
        let packs = [Pack { size: 500 }, Pack { size: 125 }];
        let cost = |i: usize, q: i64| {
            Some(if i == 0 {
                100_000 * q
            } else if q >= 8 {
                18_000 * q
            } else {
                30_000 * q
            })
        };
        assert_eq!(cheapest_mix(1000, &packs, cost), Some(vec![0, 8]));
    }

    #[test]
    fn orders_that_cannot_be_placed_are_left_out() {
        let packs = [Pack { size: 500 }, Pack { size: 125 }];
        let cost = |i: usize, q: i64| if i == 0 { None } else { Some(30_000 * q) };
        assert_eq!(cheapest_mix(200, &packs, cost), Some(vec![0, 2]));
        assert_eq!(cheapest_mix(200, &packs, |_, _| None), None);
        assert_eq!(cheapest_mix(200, &[], |_, _| Some(1)), None);
    }

    #[test]
    fn each_held_voucher_counts_once_for_the_first_part_it_serves() {
        // 40 vouchers that serve both parts, 10 that serve the second only.
        let got = share_held(&[30, 25], &[(40, vec![true, true]), (10, vec![false, true])]);
        assert_eq!(got, vec![30, 20]);
        assert_eq!(share_held(&[5], &[(40, vec![true])]), vec![5]);
    }
}
