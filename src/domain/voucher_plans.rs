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
/// Each pack in turn is the filler, taking whatever the others leave; the
/// others are tried from none up to what fills one filler pack (more of
/// them could be swapped for filler packs, which the filler's own turn
/// prices). Each size alone is tried too, for quantity discounts.
pub fn cheapest_mix(needed: i64, packs: &[Pack], cost: impl Fn(usize, i64) -> Option<i64>) -> Option<Vec<i64>> {
    if needed <= 0 {
        return Some(vec![0; packs.len()]);
    }
    if packs.is_empty() || packs.iter().any(|p| p.size <= 0) {
        return None;
    }
    let ceil = |n: i64, d: i64| (n + d - 1) / d;
    let mut candidates: Vec<Vec<i64>> = Vec::new();
    for (i, pack) in packs.iter().enumerate() {
        let mut q = vec![0; packs.len()];
        q[i] = ceil(needed, pack.size);
        candidates.push(q);
    }
    let budget = MAX_COMBINATIONS / i64::try_from(packs.len()).unwrap_or(i64::MAX).max(1);
    for filler in 0..packs.len() {
        let others: Vec<usize> = (0..packs.len()).filter(|i| *i != filler).collect();
        let bounds: Vec<i64> =
            others.iter().map(|i| ceil(packs[filler].size, packs[*i].size).min(ceil(needed, packs[*i].size))).collect();
        let combos = bounds.iter().try_fold(1_i64, |acc, b| acc.checked_mul(b + 1)).unwrap_or(i64::MAX);
        if others.is_empty() || combos > budget {
            continue;
        }
        let mut counter = vec![0_i64; others.len()];
        loop {
            let mut q = vec![0; packs.len()];
            let mut covered = 0;
            for (k, i) in others.iter().enumerate() {
                q[*i] = counter[k];
                covered += counter[k] * packs[*i].size;
            }
            q[filler] = ceil((needed - covered).max(0), packs[filler].size);
            candidates.push(q);
            // The next combination, or the end.
            let Some(k) = (0..counter.len()).find(|k| counter[*k] < bounds[*k]) else { break };
            counter[k] += 1;
            counter[..k].iter_mut().for_each(|c| *c = 0);
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
/// counted once, for the first part it can serve that still needs one,
/// the narrowest kinds first. Returns how many each part gets.
pub fn share_held(needed: &[i64], held: &[(i64, Vec<bool>)]) -> Vec<i64> {
    let mut got = vec![0_i64; needed.len()];
    // The kinds that serve the fewest parts go first, so that a voucher
    // that could serve any part is not spent where a narrower one fits.
    let mut order: Vec<&(i64, Vec<bool>)> = held.iter().collect();
    order.sort_by_key(|(_, serves)| serves.iter().filter(|s| **s).count());
    for (count, serves) in order {
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
        // A voucher that serves both parts waits for the narrower one: listed first or not.
        let got = share_held(&[10, 10], &[(10, vec![true, true]), (10, vec![true, false])]);
        assert_eq!(got, vec![10, 10]);
    }

    #[test]
    fn any_pack_may_be_the_one_that_fills_the_rest() {
        // 100 for 1 000, 50 for 40, 7 for 7: 1 003 vouchers -> 20 x 50 + 1 x 7 (807),
        // not 21 x 50 (840).
        let list = [(100, 1000), (50, 40), (7, 7)];
        let packs = [Pack { size: 100 }, Pack { size: 50 }, Pack { size: 7 }];
        assert_eq!(cheapest_mix(1003, &packs, flat(&list)), Some(vec![0, 20, 1]));
        // A million vouchers of one size: no overflow, one answer.
        assert_eq!(cheapest_mix(1_000_000, &[Pack { size: 30 }], flat(&[(30, 300_000)])), Some(vec![33_334]));
    }
}
