//! The dispute game of `contracts/DISPUTE.md` as the challenger reasons about it: the positions
//! of a game, the honest move in each, and a reference model of the contract's rules.
//!
//! [`honest_move`] is the whole strategy: given the game as read from L1 and the local chain
//! ([`Truth`]), it says what an honest party plays next. [`Referee`] is an executable model of
//! the contract's transitions (without clocks), so the strategy is tested against liars of
//! every shape before it meets the Solidity game.

use alloy_primitives::B256;

/// The two sides of a game.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The proposer of the disputed output: posts claims at bisection midpoints.
    Defender,
    /// Whoever opened the dispute: agrees or disagrees with each claim.
    Challenger,
}

impl Party {
    /// The other side.
    pub fn opponent(self) -> Self {
        match self {
            Self::Defender => Self::Challenger,
            Self::Challenger => Self::Defender,
        }
    }
}

/// The two bisections of a game.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Over L2 block numbers; claims are output roots.
    Blocks,
    /// Over transaction positions inside the disputed block; claims are trace commitments.
    Transactions,
}

/// An interval whose `lo` end is agreed and whose `hi` end is disputed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bisection {
    /// The agreed end.
    pub lo: u64,
    /// The disputed end.
    pub hi: u64,
}

impl Bisection {
    /// The position the defender must claim next: `(lo + hi) / 2`.
    pub fn mid(&self) -> u64 {
        self.lo + (self.hi - self.lo) / 2
    }

    /// Whether the interval is down to one step.
    pub fn is_single_step(&self) -> bool {
        self.hi <= self.lo + 1
    }

    /// The interval after the challenger's choice about the claim at [`Bisection::mid`].
    pub fn narrowed(&self, agree: bool) -> Self {
        let mid = self.mid();
        if agree {
            Self {
                lo: mid,
                hi: self.hi,
            }
        } else {
            Self {
                lo: self.lo,
                hi: mid,
            }
        }
    }
}

/// Where a game stands, as read from the contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// Level 1, the defender must claim the output root at `bisection.mid()`.
    ClaimBlock {
        /// The current interval.
        bisection: Bisection,
    },
    /// Level 1, the challenger must agree or disagree with `claim` at `bisection.mid()`.
    ChooseBlock {
        /// The current interval.
        bisection: Bisection,
        /// The defender's output root at the midpoint.
        claim: B256,
    },
    /// Level 1 is down to block `block`; the defender must open it.
    OpenBlock {
        /// The first disputed block.
        block: u64,
    },
    /// Level 2, block `block` is open: the challenger must accept its header or prove it breaks
    /// the header rules.
    JudgeHeader {
        /// The disputed block.
        block: u64,
        /// The defender's transaction count.
        tx_count: u64,
    },
    /// Level 2, the defender must claim the trace commitment at `bisection.mid()`.
    ClaimTx {
        /// The disputed block.
        block: u64,
        /// The defender's transaction count.
        tx_count: u64,
        /// The current interval of trace positions.
        bisection: Bisection,
    },
    /// Level 2, the challenger must agree or disagree with `claim`.
    ChooseTx {
        /// The disputed block.
        block: u64,
        /// The defender's transaction count.
        tx_count: u64,
        /// The current interval of trace positions.
        bisection: Bisection,
        /// The defender's commitment at the midpoint.
        claim: B256,
    },
    /// Level 2 is down to transaction `tx_index` of `block`: the one-step proof decides.
    Step {
        /// The disputed block.
        block: u64,
        /// The defender's transaction count.
        tx_count: u64,
        /// The transaction whose execution is disputed.
        tx_index: u64,
        /// The defender's commitment after it.
        claim_after: B256,
    },
    /// Decided.
    Resolved {
        /// Who won.
        winner: Party,
    },
}

impl Position {
    /// Whose move it is (the step may be played by anyone; the defender's clock runs).
    pub fn turn(&self) -> Option<Party> {
        match self {
            Self::ClaimBlock { .. } | Self::OpenBlock { .. } | Self::ClaimTx { .. } => {
                Some(Party::Defender)
            }
            Self::ChooseBlock { .. } | Self::ChooseTx { .. } | Self::JudgeHeader { .. } => {
                Some(Party::Challenger)
            }
            Self::Step { .. } => Some(Party::Defender),
            Self::Resolved { .. } => None,
        }
    }
}

impl std::fmt::Display for Position {
    /// A one-line summary for operators (status page, logs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ClaimBlock { bisection } => write!(
                f,
                "blocks ({}, {}]: defender claims block {}",
                bisection.lo,
                bisection.hi,
                bisection.mid()
            ),
            Self::ChooseBlock { bisection, .. } => write!(
                f,
                "blocks ({}, {}]: challenger judges block {}",
                bisection.lo,
                bisection.hi,
                bisection.mid()
            ),
            Self::OpenBlock { block } => write!(f, "block {block}: defender opens it"),
            Self::JudgeHeader { block, tx_count } => write!(
                f,
                "block {block} ({tx_count} transactions): challenger judges its header"
            ),
            Self::ClaimTx {
                block,
                tx_count,
                bisection,
            } => write!(
                f,
                "block {block}, transactions ({}, {}] of {tx_count}: defender claims {}",
                bisection.lo,
                bisection.hi,
                bisection.mid()
            ),
            Self::ChooseTx {
                block,
                tx_count,
                bisection,
                ..
            } => write!(
                f,
                "block {block}, transactions ({}, {}] of {tx_count}: challenger judges {}",
                bisection.lo,
                bisection.hi,
                bisection.mid()
            ),
            Self::Step {
                block, tx_index, ..
            } => write!(f, "block {block}, transaction {tx_index}: one-step proof"),
            Self::Resolved { winner } => write!(f, "decided: {winner:?} won"),
        }
    }
}

/// A move, as the contract takes it (the L1 encoding of `OpenBlock` and `Step`, with their
/// proofs, is built by the caller from the local chain).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Move {
    /// `defendBlock(root)`.
    ClaimBlock(B256),
    /// `chooseBlock(agree)`.
    ChooseBlock(bool),
    /// `openBlock(...)` for `block` with `tx_count` transactions.
    OpenBlock {
        /// The disputed block.
        block: u64,
        /// Its transaction count.
        tx_count: u64,
    },
    /// `acceptHeader()`: the opened header follows the header rules (or cannot be shown not to).
    AcceptHeader,
    /// `defendTx(commitment)`.
    ClaimTx(B256),
    /// `chooseTx(agree)`.
    ChooseTx(bool),
    /// Prove the defender's transaction count wrong: the block has `actual` transactions.
    DisputeTxCount {
        /// The block.
        block: u64,
        /// The true count.
        actual: u64,
    },
    /// `proveHeaderInvalid(...)`: the disputed header of `block` breaks the header rules. The
    /// player decides this one itself (it needs the game's header and an L1 simulation, see
    /// `GamePlayer::check_header`); [`honest_move`] never returns it.
    DisproveHeader {
        /// The block.
        block: u64,
    },
    /// `step(...)`: the one-step proof of transaction `tx_index` of `block`.
    Step {
        /// The block.
        block: u64,
        /// The transaction.
        tx_index: u64,
    },
    /// Nothing to do (the opponent's turn, or a lost position to wait out).
    Wait,
}

/// What an honest party knows: the canonical chain, derived from L1.
pub trait Truth {
    /// Why a question about the chain could not be answered.
    type Error;

    /// The output root of L2 block `block`.
    fn output_root(&self, block: u64) -> Result<B256, Self::Error>;

    /// The number of transactions of `block`.
    fn tx_count(&self, block: u64) -> Result<u64, Self::Error>;

    /// The trace commitment of `block` at `position` (0 = before its first transaction).
    fn commitment(&self, block: u64, position: u64) -> Result<B256, Self::Error>;
}

/// The honest move for `us` at `position`.
///
/// The challenger agrees exactly with the claims that match its chain; the defender claims
/// exactly what its chain says; at the step, whoever the proof favours plays it; a transaction
/// count that differs from the chain's is disputed at once. A party that is in a lost position
/// (e.g. an honest node that is, by mistake of its operator, defending a wrong output) waits:
/// it never plays a move it knows to be false.
pub fn honest_move<T: Truth>(us: Party, position: &Position, truth: &T) -> Result<Move, T::Error> {
    Ok(match (us, position) {
        (Party::Defender, Position::ClaimBlock { bisection }) => {
            Move::ClaimBlock(truth.output_root(bisection.mid())?)
        }
        (Party::Challenger, Position::ChooseBlock { bisection, claim }) => {
            Move::ChooseBlock(truth.output_root(bisection.mid())? == *claim)
        }
        (Party::Defender, Position::OpenBlock { block }) => Move::OpenBlock {
            block: *block,
            tx_count: truth.tx_count(*block)?,
        },
        (
            Party::Challenger,
            Position::ClaimTx {
                block, tx_count, ..
            },
        )
        | (
            Party::Challenger,
            Position::Step {
                block, tx_count, ..
            },
        ) if truth.tx_count(*block)? != *tx_count => Move::DisputeTxCount {
            block: *block,
            actual: truth.tx_count(*block)?,
        },
        (
            Party::Challenger,
            Position::ChooseTx {
                block, tx_count, ..
            }
            | Position::JudgeHeader { block, tx_count },
        ) if truth.tx_count(*block)? != *tx_count => Move::DisputeTxCount {
            block: *block,
            actual: truth.tx_count(*block)?,
        },
        (Party::Challenger, Position::JudgeHeader { .. }) => Move::AcceptHeader,
        (
            Party::Defender,
            Position::ClaimTx {
                block, bisection, ..
            },
        ) => Move::ClaimTx(truth.commitment(*block, bisection.mid())?),
        (
            Party::Challenger,
            Position::ChooseTx {
                block,
                bisection,
                claim,
                ..
            },
        ) => Move::ChooseTx(truth.commitment(*block, bisection.mid())? == *claim),
        (
            us,
            Position::Step {
                block,
                tx_index,
                claim_after,
                ..
            },
        ) => {
            let honest_claim = truth.commitment(*block, tx_index + 1)? == *claim_after;
            // The proof shows the true post-state: it favours the defender exactly when the
            // defender's claim is true.
            let favours_us = honest_claim == (us == Party::Defender);
            if favours_us {
                Move::Step {
                    block: *block,
                    tx_index: *tx_index,
                }
            } else {
                Move::Wait
            }
        }
        _ => Move::Wait,
    })
}

/// Why the [`Referee`] refused a move: the contract reverts on the same.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefereeError {
    /// The move does not fit the position.
    #[error("move {0:?} is not allowed at {1:?}")]
    WrongMove(Move, Position),
    /// A transaction-count dispute that the chain does not support.
    #[error("the transaction count is right")]
    CountIsRight,
}

/// A reference model of the contract's rules (clocks aside), judging with the real chain: what
/// the L1 checks (preimages, MPT proofs, the one-step verifier) establish is taken from
/// `truth`, exactly as a correct contract would find it.
pub struct Referee<'t, T> {
    truth: &'t T,
    position: Position,
    /// The agreed and disputed claims at the ends of the level-2 interval are the contract's
    /// business; the model only needs the defender's claim after the step.
    tx_claims: Vec<(u64, B256)>,
}

impl<'t, T: Truth> Referee<'t, T> {
    /// A game over the blocks between an agreed `start` and a disputed `end`.
    pub fn new(truth: &'t T, start: u64, end: u64) -> Self {
        Self {
            truth,
            position: Position::ClaimBlock {
                bisection: Bisection { lo: start, hi: end },
            },
            tx_claims: Vec::new(),
        }
        .settled()
    }

    /// Where the game stands.
    pub fn position(&self) -> &Position {
        &self.position
    }

    /// Moves to the next position once an interval is down to one step.
    fn settled(mut self) -> Self {
        self.position = self.settle(self.position.clone());
        self
    }

    fn settle(&self, position: Position) -> Position {
        match position {
            Position::ClaimBlock { bisection } if bisection.is_single_step() => {
                Position::OpenBlock {
                    block: bisection.hi,
                }
            }
            Position::ClaimTx {
                block,
                tx_count,
                bisection,
            } if bisection.is_single_step() => {
                let claim_after = self
                    .tx_claims
                    .iter()
                    .rev()
                    .find(|(position, _)| *position == bisection.hi)
                    .map(|(_, claim)| *claim)
                    .unwrap_or_default();
                Position::Step {
                    block,
                    tx_count,
                    tx_index: bisection.lo,
                    claim_after,
                }
            }
            other => other,
        }
    }

    /// Plays `the_move` by `by`; `final_claim` is the defender's commitment after the last
    /// transaction (what its opened block's post-state implies).
    pub fn play(&mut self, by: Party, the_move: Move, final_claim: B256) -> Result<(), T::Error>
    where
        T::Error: From<RefereeError>,
    {
        let wrong = |the_move: Move, position: &Position| -> T::Error {
            RefereeError::WrongMove(the_move, position.clone()).into()
        };
        if the_move == Move::Wait {
            return Ok(());
        }
        if self.position.turn() != Some(by)
            && !matches!(the_move, Move::Step { .. } | Move::DisputeTxCount { .. })
        {
            return Err(wrong(the_move, &self.position));
        }
        let next = match (&self.position, &the_move) {
            (Position::ClaimBlock { bisection }, Move::ClaimBlock(claim)) => {
                Position::ChooseBlock {
                    bisection: *bisection,
                    claim: *claim,
                }
            }
            (Position::ChooseBlock { bisection, .. }, Move::ChooseBlock(agree)) => {
                Position::ClaimBlock {
                    bisection: bisection.narrowed(*agree),
                }
            }
            (
                Position::OpenBlock { block },
                Move::OpenBlock {
                    block: opened,
                    tx_count,
                },
            ) if block == opened && *tx_count >= 1 => {
                self.tx_claims = vec![(*tx_count, final_claim)];
                Position::JudgeHeader {
                    block: *block,
                    tx_count: *tx_count,
                }
            }
            (Position::JudgeHeader { block, tx_count }, Move::AcceptHeader) => Position::ClaimTx {
                block: *block,
                tx_count: *tx_count,
                bisection: Bisection {
                    lo: 0,
                    hi: *tx_count,
                },
            },
            (
                Position::ClaimTx {
                    block,
                    tx_count,
                    bisection,
                },
                Move::ClaimTx(claim),
            ) => {
                self.tx_claims.push((bisection.mid(), *claim));
                Position::ChooseTx {
                    block: *block,
                    tx_count: *tx_count,
                    bisection: *bisection,
                    claim: *claim,
                }
            }
            (
                Position::ChooseTx {
                    block,
                    tx_count,
                    bisection,
                    ..
                },
                Move::ChooseTx(agree),
            ) => Position::ClaimTx {
                block: *block,
                tx_count: *tx_count,
                bisection: bisection.narrowed(*agree),
            },
            (
                Position::ClaimTx {
                    block, tx_count, ..
                }
                | Position::ChooseTx {
                    block, tx_count, ..
                }
                | Position::JudgeHeader { block, tx_count }
                | Position::Step {
                    block, tx_count, ..
                },
                Move::DisputeTxCount { .. },
            ) => {
                if self.truth.tx_count(*block)? == *tx_count {
                    return Err(RefereeError::CountIsRight.into());
                }
                Position::Resolved {
                    winner: Party::Challenger,
                }
            }
            (
                Position::Step {
                    block,
                    tx_index,
                    claim_after,
                    ..
                },
                Move::Step {
                    block: b,
                    tx_index: i,
                },
            ) if block == b && tx_index == i => {
                let truth = self.truth.commitment(*block, tx_index + 1)?;
                Position::Resolved {
                    winner: if truth == *claim_after {
                        Party::Defender
                    } else {
                        Party::Challenger
                    },
                }
            }
            _ => return Err(wrong(the_move, &self.position)),
        };
        self.position = self.settle(next);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;
    use proptest::prelude::*;

    /// A chain of `blocks` blocks, where a liar's version departs from the truth in block
    /// `bad_block` after transaction `bad_tx` (or only in what the output root binds besides
    /// the state, when `bad_tx` is past the end... not modelled: phase 1 proves execution).
    #[derive(Clone, Debug)]
    struct Chain {
        tx_counts: Vec<u64>,
        /// `None`: the true chain; `Some((block, tx))`: diverges after that transaction.
        divergence: Option<(u64, u64)>,
        /// A liar may also misreport the transaction count of the divergent block.
        count_lie: u64,
        salt: u8,
    }

    #[derive(Debug, PartialEq, Eq)]
    struct Refused(RefereeError);

    impl From<RefereeError> for Refused {
        fn from(error: RefereeError) -> Self {
            Self(error)
        }
    }

    impl Chain {
        fn diverged(&self, block: u64, position: u64) -> bool {
            match self.divergence {
                Some((bad_block, bad_tx)) => {
                    block > bad_block || (block == bad_block && position > bad_tx)
                }
                None => false,
            }
        }
    }

    impl Truth for Chain {
        type Error = Refused;

        fn output_root(&self, block: u64) -> Result<B256, Refused> {
            let end = self.tx_counts[block as usize];
            let tag = if self.diverged(block, end) {
                self.salt
            } else {
                0
            };
            Ok(keccak256([&block.to_be_bytes()[..], &[tag, 0xff]].concat()))
        }

        fn tx_count(&self, block: u64) -> Result<u64, Refused> {
            let lie = match self.divergence {
                Some((bad_block, _)) if bad_block == block => self.count_lie,
                _ => 0,
            };
            Ok(self.tx_counts[block as usize] + lie)
        }

        fn commitment(&self, block: u64, position: u64) -> Result<B256, Refused> {
            let tag = if self.diverged(block, position) {
                self.salt
            } else {
                0
            };
            Ok(keccak256(
                [
                    &block.to_be_bytes()[..],
                    &position.to_be_bytes()[..],
                    &[tag],
                ]
                .concat(),
            ))
        }
    }

    /// Plays a game to the end: each party moves by `honest_move` over its own view of the
    /// chain; the referee judges with `truth`. Returns the winner and the number of moves.
    fn play(
        truth: &Chain,
        defender: &Chain,
        challenger: &Chain,
        start: u64,
        end: u64,
    ) -> (Party, usize) {
        let mut referee = Referee::new(truth, start, end);
        let defender_final = |chain: &Chain, block: u64| {
            chain
                .commitment(block, chain.tx_count(block).expect("count"))
                .expect("commitment")
        };
        for moves in 0..10_000 {
            if let Position::Resolved { winner } = referee.position() {
                return (*winner, moves);
            }
            let position = referee.position().clone();
            let final_claim = match position {
                Position::OpenBlock { block } => defender_final(defender, block),
                _ => B256::ZERO,
            };
            let mut moved = false;
            for (party, view) in [(Party::Challenger, challenger), (Party::Defender, defender)] {
                let the_move = honest_move(party, &position, view).expect("a move");
                // A refused move is a reverted L1 transaction: the game does not change.
                if the_move != Move::Wait && referee.play(party, the_move, final_claim).is_ok() {
                    moved = true;
                    break;
                }
            }
            // Nobody moves: the party whose turn it is runs out of time.
            if !moved {
                let loser = position.turn().expect("an open game has a turn");
                return (loser.opponent(), moves);
            }
        }
        panic!("the game did not end");
    }

    fn chain(tx_counts: Vec<u64>) -> Chain {
        Chain {
            tx_counts,
            divergence: None,
            count_lie: 0,
            salt: 1,
        }
    }

    #[test]
    fn bisection_halves_towards_the_disputed_end() {
        let b = Bisection { lo: 10, hi: 20 };
        assert_eq!(b.mid(), 15);
        assert_eq!(b.narrowed(true), Bisection { lo: 15, hi: 20 });
        assert_eq!(b.narrowed(false), Bisection { lo: 10, hi: 15 });
        assert!(Bisection { lo: 3, hi: 4 }.is_single_step());
        assert_eq!(
            Bisection {
                lo: u64::MAX - 2,
                hi: u64::MAX
            }
            .mid(),
            u64::MAX - 1
        );
    }

    #[test]
    fn a_lie_in_the_last_transaction_is_proven() {
        let truth = chain(vec![1, 3, 2, 5]);
        let liar = Chain {
            divergence: Some((3, 4)),
            ..truth.clone()
        };
        let (winner, _) = play(&truth, &liar, &truth, 0, 3);
        assert_eq!(winner, Party::Challenger);
    }

    #[test]
    fn a_wrong_transaction_count_is_disputed() {
        let truth = chain(vec![1, 3, 2, 5]);
        let liar = Chain {
            divergence: Some((2, 1)),
            count_lie: 1,
            ..truth.clone()
        };
        let mut referee = Referee::new(&truth, 0, 3);
        // Drive to the level-2 position by honest play until the count dispute.
        let mut last = Move::Wait;
        for _ in 0..100 {
            let position = referee.position().clone();
            if matches!(position, Position::Resolved { .. }) {
                break;
            }
            let final_claim = match position {
                Position::OpenBlock { block } => liar
                    .commitment(block, liar.tx_count(block).unwrap())
                    .unwrap(),
                _ => B256::ZERO,
            };
            let party = position.turn().unwrap();
            let view = if party == Party::Defender {
                &liar
            } else {
                &truth
            };
            let mut the_move = honest_move(party, &position, view).unwrap();
            if the_move == Move::Wait {
                the_move = honest_move(Party::Challenger, &position, &truth).unwrap();
                referee
                    .play(Party::Challenger, the_move.clone(), final_claim)
                    .unwrap();
            } else {
                referee.play(party, the_move.clone(), final_claim).unwrap();
            }
            last = the_move;
        }
        assert_eq!(
            last,
            Move::DisputeTxCount {
                block: 2,
                actual: 2
            }
        );
        assert_eq!(
            referee.position(),
            &Position::Resolved {
                winner: Party::Challenger
            }
        );
        // A count dispute against a true count is refused, as the contract reverts.
        let mut fair = Referee::new(&truth, 1, 2);
        fair.play(
            Party::Defender,
            Move::OpenBlock {
                block: 2,
                tx_count: 2,
            },
            B256::ZERO,
        )
        .unwrap();
        assert_eq!(
            fair.play(
                Party::Challenger,
                Move::DisputeTxCount {
                    block: 2,
                    actual: 3
                },
                B256::ZERO
            ),
            Err(Refused(RefereeError::CountIsRight))
        );
    }

    #[test]
    fn moves_out_of_turn_are_refused() {
        let truth = chain(vec![1, 1, 1]);
        let mut referee = Referee::new(&truth, 0, 2);
        assert!(referee
            .play(Party::Challenger, Move::ChooseBlock(true), B256::ZERO)
            .is_err());
        assert!(referee
            .play(Party::Defender, Move::ClaimTx(B256::ZERO), B256::ZERO)
            .is_err());
        referee
            .play(Party::Defender, Move::ClaimBlock(B256::ZERO), B256::ZERO)
            .unwrap();
        assert!(referee
            .play(Party::Defender, Move::ClaimBlock(B256::ZERO), B256::ZERO)
            .is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// An honest challenger beats a defender whose chain departs anywhere in the disputed
        /// range, in at most ~log2(blocks) + log2(txs) + 2 rounds.
        #[test]
        fn honest_challenger_beats_any_divergent_defender(
            tx_counts in prop::collection::vec(1..40u64, 2..200),
            start_frac in 0.0..1.0f64,
            bad in (0.0..1.0f64, 0.0..1.0f64),
            count_lie in prop_oneof![Just(0u64), 1..3u64],
        ) {
            let blocks = tx_counts.len() as u64;
            let start = ((blocks - 1) as f64 * start_frac * 0.5) as u64;
            let end = blocks - 1;
            let bad_block = (start + 1 + ((end - start) as f64 * bad.0) as u64).min(end);
            let bad_tx = ((tx_counts[bad_block as usize] - 1) as f64 * bad.1) as u64;
            let truth = chain(tx_counts);
            let liar = Chain { divergence: Some((bad_block, bad_tx)), count_lie, ..truth.clone() };
            let (winner, moves) = play(&truth, &liar, &truth, start, end);
            prop_assert_eq!(winner, Party::Challenger);
            let rounds = 2 * (64 - (end - start).leading_zeros() as usize) + 2 * 7 + 3;
            prop_assert!(moves <= rounds, "{} moves", moves);
        }

        /// An honest defender beats a challenger who believes any divergent chain.
        #[test]
        fn honest_defender_beats_any_divergent_challenger(
            tx_counts in prop::collection::vec(1..40u64, 2..200),
            bad in (0.0..1.0f64, 0.0..1.0f64),
            count_lie in prop_oneof![Just(0u64), 1..3u64],
        ) {
            let end = tx_counts.len() as u64 - 1;
            let bad_block = (1 + ((end - 1) as f64 * bad.0) as u64).min(end);
            let bad_tx = ((tx_counts[bad_block as usize] - 1) as f64 * bad.1) as u64;
            let truth = chain(tx_counts);
            let liar = Chain { divergence: Some((bad_block, bad_tx)), count_lie, ..truth.clone() };
            let (winner, _) = play(&truth, &truth, &liar, 0, end);
            prop_assert_eq!(winner, Party::Defender);
        }
    }
}
