//! Plays dispute games on L1: watches the `OutputOracle`, challenges proposals whose output
//! root differs from the local chain's, and plays every move of the games it is a party to
//! (as challenger, or as defender of its own proposals) until they are resolved and the bonds
//! claimed.
//!
//! # Restarts
//! The player keeps no game state of its own: every step reads the oracle and the games from
//! L1 and decides from what it finds ([`crate::game::honest_move`] is a function of the
//! position). Its transactions go through the shared [`TxManager`], whose journal survives
//! restarts; while one of its transactions is unconfirmed the player waits, so a restart never
//! sends a move twice.

use alloy::{
    eips::BlockId,
    primitives::{keccak256, Address, Bytes, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    sol_types::{SolCall, SolEvent},
};
use parallax_contracts::{DisputeGame, OutputOracle};
use parallax_state::store::{ChainStore, DisputeGameRecord, HeadKind};
use parallax_txmgr::{TxCandidate, TxError, TxManager};

use alloy_rlp::Decodable;

use crate::{
    game::{honest_move, Bisection, Move, Party, Position},
    truth::{ChainTruth, TruthError},
};

/// Why a step of the player failed. All are retried on the next step; none is fatal to the
/// service (a game it does not understand is skipped, never played wrongly).
#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    /// An L1 call failed.
    #[error("L1 contract call: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// An L1 JSON-RPC request failed.
    #[error("L1 RPC: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// The local chain could not answer.
    #[error(transparent)]
    Truth(#[from] TruthError),
    /// The transaction manager failed.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// The chain store failed.
    #[error(transparent)]
    Store(#[from] parallax_state::store::StoreError),
    /// The game reports a position the protocol does not have.
    #[error("game {game}: {reason}")]
    UnexpectedGame {
        /// The game.
        game: Address,
        /// What was wrong.
        reason: String,
    },
}

/// Blocks per `eth_getLogs` query: public L1 endpoints refuse wider ranges (their caps run
/// from about 1,000 to 10,000 blocks).
const LOG_QUERY_BLOCKS: u64 = 1_000;

/// `DisputeGame.stage()` values (the contract's `Stage` enum, in declaration order).
mod game_stage {
    /// Level 1: bisection over blocks.
    pub(super) const BLOCKS: u8 = 0;
    /// The defender opens the first disputed block.
    pub(super) const OPEN_BLOCK: u8 = 1;
    /// Level 2: bisection over the block's transactions.
    pub(super) const TXS: u8 = 2;
    /// The one-step proof of one transaction.
    pub(super) const STEP: u8 = 3;
    /// The challenger judges the opened header.
    pub(super) const HEADER: u8 = 4;
}

/// What the player is for.
#[derive(Clone, Debug)]
pub struct PlayerConfig {
    /// The `OutputOracle` (proxy).
    pub oracle: Address,
    /// Whether to challenge proposals that differ from the local chain (the challenger);
    /// a proposer only defends.
    pub challenge: bool,
    /// Most proposals examined per step (from the finalized checkpoint on).
    pub max_scan: u64,
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing to do.
    Idle,
    /// A transaction of ours is still unconfirmed.
    Waiting,
    /// Opened a game on proposal `index`.
    Challenged {
        /// The proposal.
        index: u64,
    },
    /// Played `the_move` in the game of proposal `index`.
    Moved {
        /// The proposal.
        index: u64,
        /// The move.
        the_move: Move,
    },
    /// Ended a game whose party to move ran out of time.
    TimedOut {
        /// The proposal.
        index: u64,
    },
    /// Told the oracle the outcome of the game on proposal `index`.
    Settled {
        /// The proposal.
        index: u64,
    },
    /// Withdrew the bonds credited to us.
    ClaimedCredit {
        /// Wei withdrawn.
        amount: U256,
    },
}

/// What the header rules say about a game's disputed header, as the challenger sees it
/// ([`GamePlayer::check_header`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderCheck {
    /// The game's header is the local chain's.
    Agrees,
    /// The header's state root is not the local chain's: the `L1Block` proofs cannot be built
    /// here, and the trace bisection decides.
    StateDiffers,
    /// The header is what the rules give (`DisputeGame.ruledHeaderHash`): it differs from the
    /// local chain's only where phase 1 cannot prove it (receipts root, logs bloom).
    FollowsRules,
    /// The rules give the header hashing to `ruled`, not the opened one: `call` is the
    /// `proveHeaderInvalid` calldata that wins the game.
    Provable {
        /// The hash of the header the rules give.
        ruled: B256,
        /// The calldata to send.
        call: Bytes,
    },
}

/// The game player of one L1 account.
pub struct GamePlayer<S> {
    truth: ChainTruth<S>,
    store: S,
    provider: DynProvider,
    me: Address,
    config: PlayerConfig,
}

impl<S> std::fmt::Debug for GamePlayer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GamePlayer")
            .field("me", &self.me)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: ChainStore> GamePlayer<S> {
    /// A player for `me` (the tx manager's key) judging with `truth` over `store`.
    pub fn new(
        truth: ChainTruth<S>,
        store: S,
        provider: DynProvider,
        me: Address,
        config: PlayerConfig,
    ) -> Self {
        Self {
            truth,
            store,
            provider,
            me,
            config,
        }
    }

    /// The local chain the player judges with.
    pub fn truth(&self) -> &ChainTruth<S> {
        &self.truth
    }

    /// Looks at the oracle and its games and sends at most one transaction.
    pub async fn step(&self, txmgr: &TxManager<S>) -> Result<Action, PlayerError> {
        if !txmgr.open_intents().await.is_empty() {
            return Ok(Action::Waiting);
        }
        let oracle = OutputOracle::new(self.config.oracle, self.provider.clone());
        let count = to_u64(oracle.outputCount().call().await?);
        let first = to_u64(oracle.finalizedCheckpoint().call().await?);
        let safe = self
            .store
            .head(HeadKind::Safe)
            .await?
            .map_or(0, |head| head.number);
        let (l1_block, now) = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .map_or((0, 0), |block| {
                (block.header.number, block.header.timestamp)
            });
        self.refresh_records(l1_block).await?;
        for index in first..count.min(first.saturating_add(self.config.max_scan)) {
            let proposal = oracle.getOutput(U256::from(index)).call().await?;
            if proposal.game != Address::ZERO {
                if let Some(action) = self.play(index, &proposal, l1_block, txmgr).await? {
                    return Ok(action);
                }
                continue;
            }
            let open = now < proposal.challengeDeadline;
            if !self.config.challenge || proposal.proposer == self.me || !open {
                continue;
            }
            if proposal.l2BlockNumber > safe {
                // The local chain has not derived that far yet; later proposals are higher.
                break;
            }
            let ours = self.truth.output_root(proposal.l2BlockNumber).await?;
            if ours != proposal.outputRoot {
                tracing::warn!(
                    index,
                    block = proposal.l2BlockNumber,
                    posted = %proposal.outputRoot,
                    local = %ours,
                    "wrong output root; challenging"
                );
                let bond = oracle.challengeBond().call().await?;
                let call = OutputOracle::challengeCall {
                    index: U256::from(index),
                };
                self.send(txmgr, self.config.oracle, call.abi_encode(), bond)
                    .await?;
                return Ok(Action::Challenged { index });
            }
        }
        let credit = oracle.credit(self.me).call().await?;
        if !credit.is_zero() {
            let call = OutputOracle::claimCreditCall {};
            self.send(txmgr, self.config.oracle, call.abi_encode(), U256::ZERO)
                .await?;
            return Ok(Action::ClaimedCredit { amount: credit });
        }
        Ok(Action::Idle)
    }

    /// Updates the recorded games that were decided while the oracle no longer pointed at them
    /// (the opponent reported the outcome first), so none stays "in progress" forever.
    async fn refresh_records(&self, l1_block: u64) -> Result<(), PlayerError> {
        for mut record in self.store.dispute_games().await? {
            if record.status != "in_progress" {
                continue;
            }
            let game = DisputeGame::new(record.address, self.provider.clone());
            let winner = match game.status().call().await? {
                1 => Party::Challenger,
                2 => Party::Defender,
                _ => continue,
            };
            let ours = if record.role == "defender" {
                Party::Defender
            } else {
                Party::Challenger
            };
            record.status = if winner == ours { "won" } else { "lost" }.into();
            record.state = Position::Resolved { winner }
                .to_string()
                .into_bytes()
                .into();
            record.updated_block = l1_block;
            self.store.put_dispute_game(&record).await?;
        }
        Ok(())
    }

    /// One move in the game on proposal `index`, if it is ours to make. The game's position is
    /// recorded in the store for operators (the status page lists it).
    async fn play(
        &self,
        index: u64,
        proposal: &OutputOracle::Proposal,
        l1_block: u64,
        txmgr: &TxManager<S>,
    ) -> Result<Option<Action>, PlayerError> {
        let us = if proposal.proposer == self.me {
            Party::Defender
        } else if proposal.challenger == self.me {
            Party::Challenger
        } else {
            return Ok(None);
        };
        let address = proposal.game;
        let game = DisputeGame::new(address, self.provider.clone());
        let position = read_position(&game).await?;
        let status = match &position {
            Position::Resolved { winner } if *winner == us => "won",
            Position::Resolved { .. } => "lost",
            _ => "in_progress",
        };
        self.store
            .put_dispute_game(&DisputeGameRecord {
                address,
                oracle_index: index,
                role: match us {
                    Party::Defender => "defender".into(),
                    Party::Challenger => "challenger".into(),
                },
                status: status.into(),
                state: position.to_string().into_bytes().into(),
                updated_block: l1_block,
            })
            .await?;
        if matches!(position, Position::Resolved { .. }) {
            let call = OutputOracle::resolveCall {
                index: U256::from(index),
            };
            self.send(txmgr, self.config.oracle, call.abi_encode(), U256::ZERO)
                .await?;
            return Ok(Some(Action::Settled { index }));
        }
        if game.expired().call().await? {
            let call = DisputeGame::resolveCall {};
            self.send(txmgr, address, call.abi_encode(), U256::ZERO)
                .await?;
            return Ok(Some(Action::TimedOut { index }));
        }
        if let Some(action) = self
            .disprove_header(index, address, us, &position, txmgr)
            .await?
        {
            return Ok(Some(action));
        }
        let answers = self.truth.prefetch(&position).await?;
        let the_move = honest_move(us, &position, &answers)?;
        let data = match &the_move {
            Move::Wait => return Ok(None),
            Move::ClaimBlock(root) => DisputeGame::defendBlockCall { midRoot: *root }.abi_encode(),
            Move::ChooseBlock(agree) => DisputeGame::chooseBlockCall { agree: *agree }.abi_encode(),
            Move::ClaimTx(claim) => DisputeGame::defendTxCall {
                midCommitment: *claim,
            }
            .abi_encode(),
            Move::ChooseTx(agree) => DisputeGame::chooseTxCall { agree: *agree }.abi_encode(),
            Move::AcceptHeader => DisputeGame::acceptHeaderCall {}.abi_encode(),
            Move::OpenBlock { block, .. } => {
                let args = self.truth.open_block_args(*block).await?;
                DisputeGame::openBlockCall {
                    preStateRoot: args.pre.state_root,
                    preMessagePasserRoot: args.pre.message_passer_storage_root,
                    preBlockHash: args.pre.block_hash,
                    postStateRoot: args.post.state_root,
                    postMessagePasserRoot: args.post.message_passer_storage_root,
                    headerRlp: args.header_rlp,
                    txCount_: U256::from(args.tx_count),
                    finalReceiptsHash: args.final_receipts_hash,
                    messagePasserAccountProof: proof_bytes(args.message_passer_proof),
                }
                .abi_encode()
            }
            Move::DisputeTxCount { block, actual } => {
                let claimed = to_u64(game.txCount().call().await?);
                let view = self.truth.block(*block).await?;
                if *actual > claimed {
                    let proof = proof_bytes(view.transaction_proof(claimed));
                    DisputeGame::proveTxCountTooLowCall { proof }.abi_encode()
                } else {
                    let proof = proof_bytes(view.transaction_proof(claimed.saturating_sub(1)));
                    DisputeGame::proveTxCountTooHighCall { proof }.abi_encode()
                }
            }
            Move::DisproveHeader { .. } => {
                return Err(PlayerError::UnexpectedGame {
                    game: address,
                    reason: "honest_move proposed a header disproof".into(),
                })
            }
            Move::Step { block, tx_index } => {
                let step = self.truth.step_args(*block, *tx_index).await?;
                DisputeGame::stepCall {
                    preStateRoot: step.pre.state_root,
                    preCumulativeGas: U256::from(step.pre.cumulative_gas),
                    preReceiptsHash: step.pre.receipts_hash,
                    txRlp: step.tx,
                    txProof: proof_bytes(step.tx_proof),
                    witness: step.witness,
                }
                .abi_encode()
            }
        };
        tracing::info!(index, game = %address, ?us, ?the_move, "dispute game move");
        self.send(txmgr, address, data, U256::ZERO).await?;
        Ok(Some(Action::Moved { index, the_move }))
    }

    /// As challenger when the block is open (the game waits for us to judge its header):
    /// proves the header wrong if the rules say so. Returns the action if a proof was sent;
    /// otherwise [`honest_move`] accepts the header.
    async fn disprove_header(
        &self,
        index: u64,
        address: Address,
        us: Party,
        position: &Position,
        txmgr: &TxManager<S>,
    ) -> Result<Option<Action>, PlayerError> {
        let Position::JudgeHeader { block, .. } = *position else {
            return Ok(None);
        };
        if us != Party::Challenger {
            return Ok(None);
        }
        match self.check_header(address, block, BlockId::latest()).await? {
            HeaderCheck::Provable { call: data, ruled } => {
                tracing::warn!(index, game = %address, block, %ruled, "disputed header breaks the header rules; proving it");
                self.send(txmgr, address, data.into(), U256::ZERO).await?;
                Ok(Some(Action::Moved {
                    index,
                    the_move: Move::DisproveHeader { block },
                }))
            }
            other => {
                tracing::info!(index, game = %address, block, ?other, "disputed header not provably wrong; accepting it");
                Ok(None)
            }
        }
    }

    /// The header `game` published in its `HeaderOpened` event with hash `hash`, searched from
    /// L1 block `to` back to `from` in windows public endpoints accept (they cap the block range
    /// of `eth_getLogs`); the newest window first, where the event usually is.
    async fn opened_header(
        &self,
        game: Address,
        hash: B256,
        from: u64,
        to: u64,
    ) -> Result<Option<Bytes>, PlayerError> {
        let mut window_end = to;
        loop {
            let window_start = window_end.saturating_sub(LOG_QUERY_BLOCKS - 1).max(from);
            let filter = Filter::new()
                .address(game)
                .event_signature(DisputeGame::HeaderOpened::SIGNATURE_HASH)
                .topic1(hash)
                .from_block(window_start)
                .to_block(window_end);
            let found = self
                .provider
                .get_logs(&filter)
                .await?
                .iter()
                .filter_map(|log| log.log_decode::<DisputeGame::HeaderOpened>().ok())
                .map(|event| event.inner.data.headerRlp.clone())
                .find(|rlp| keccak256(rlp) == hash);
            if found.is_some() || window_start <= from {
                return Ok(found);
            }
            window_end = window_start - 1;
        }
    }

    /// Whether the disputed header of `game` (block `block`, as its `HeaderOpened` event
    /// published it) breaks the header rules: the game's `ruledHeaderHash` with proofs from
    /// the local chain, on L1 state `at` (the player asks about the latest; tests pin the
    /// block where the game was open).
    pub async fn check_header(
        &self,
        game: Address,
        block: u64,
        at: BlockId,
    ) -> Result<HeaderCheck, PlayerError> {
        let contract = DisputeGame::new(game, self.provider.clone());
        // One L1 block for every read, even when `at` is a tag that moves meanwhile.
        let l1_block =
            self.provider
                .get_block(at)
                .await?
                .ok_or_else(|| PlayerError::UnexpectedGame {
                    game,
                    reason: format!("L1 block {at} not found"),
                })?;
        let at = BlockId::number(l1_block.header.number);
        let disputed = contract.blockHash().block(at).call().await?;
        if disputed == self.truth.output(block).await?.block_hash {
            return Ok(HeaderCheck::Agrees);
        }
        // In the HEADER stage the challenger's turn started with `openBlock`, and L1 timestamps
        // rise by at least a second a block: the event is at most that many blocks back.
        let opened_no_earlier_than =
            if contract.stage().block(at).call().await? == game_stage::HEADER {
                let opened_at = contract.turnStartedAt().block(at).call().await?;
                l1_block
                    .header
                    .number
                    .saturating_sub(l1_block.header.timestamp.saturating_sub(opened_at))
            } else {
                0
            };
        let header_rlp = self
            .opened_header(
                game,
                disputed,
                opened_no_earlier_than,
                l1_block.header.number,
            )
            .await?
            .ok_or_else(|| PlayerError::UnexpectedGame {
                game,
                reason: format!("no HeaderOpened event for header {disputed}"),
            })?;
        let Some(state_root) = header_state_root(&header_rlp) else {
            // `openBlock` read the state root from this header, so it is there.
            return Err(PlayerError::UnexpectedGame {
                game,
                reason: "opened header has no state root".into(),
            });
        };
        let Some(args) = self.truth.header_disproof_args(block, state_root).await? else {
            return Ok(HeaderCheck::StateDiffers);
        };
        let ruled = contract
            .ruledHeaderHash(
                header_rlp.clone(),
                args.parent_header_rlp.clone(),
                args.l1_block_proof.clone(),
            )
            .block(at)
            .call()
            .await?;
        if ruled == disputed {
            return Ok(HeaderCheck::FollowsRules);
        }
        Ok(HeaderCheck::Provable {
            ruled,
            call: DisputeGame::proveHeaderInvalidCall {
                headerRlp: header_rlp,
                parentHeaderRlp: args.parent_header_rlp,
                l1BlockProof: args.l1_block_proof,
            }
            .abi_encode()
            .into(),
        })
    }

    async fn send(
        &self,
        txmgr: &TxManager<S>,
        to: Address,
        data: Vec<u8>,
        value: U256,
    ) -> Result<(), PlayerError> {
        txmgr
            .send(vec![TxCandidate {
                to,
                data: data.into(),
                value,
                gas_limit: None,
                sidecar: None,
            }])
            .await?;
        Ok(())
    }
}

/// The state root (fourth field) of an RLP header, without requiring the rest to be a
/// well-formed header: a disputed header may break any other rule.
fn header_state_root(rlp: &[u8]) -> Option<B256> {
    let mut payload = rlp;
    let list = alloy_rlp::Header::decode(&mut payload).ok()?;
    if !list.list || payload.len() < list.payload_length {
        return None;
    }
    let mut fields = &payload[..list.payload_length];
    for _ in 0..3 {
        let item = alloy_rlp::Header::decode(&mut fields).ok()?;
        fields = fields.get(item.payload_length..)?;
    }
    B256::decode(&mut fields).ok()
}

/// `abi.encode(bytes[])`, the proof encoding of the game's proof arguments.
fn proof_bytes(nodes: Vec<Bytes>) -> Bytes {
    parallax_contracts::encode_proof(&nodes)
}

fn to_u64(value: U256) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// The game's position as its getters report it.
pub async fn read_position(
    game: &DisputeGame::DisputeGameInstance<DynProvider>,
) -> Result<Position, PlayerError> {
    let unexpected = |reason: String| PlayerError::UnexpectedGame {
        game: *game.address(),
        reason,
    };
    let status = game.status().call().await?;
    if status != 0 {
        let winner = match status {
            1 => Party::Challenger,
            2 => Party::Defender,
            other => return Err(unexpected(format!("status {other}"))),
        };
        return Ok(Position::Resolved { winner });
    }
    let stage = game.stage().call().await?;
    let lo = to_u64(game.lo().call().await?);
    let hi = to_u64(game.hi().call().await?);
    if lo >= hi {
        return Err(unexpected(format!("interval ({lo}, {hi})")));
    }
    let bisection = Bisection { lo, hi };
    let mid_claimed = game.midClaimed().call().await?;
    Ok(match stage {
        game_stage::BLOCKS if mid_claimed => Position::ChooseBlock {
            bisection,
            claim: game.midClaim().call().await?,
        },
        game_stage::BLOCKS => Position::ClaimBlock { bisection },
        game_stage::OPEN_BLOCK => Position::OpenBlock { block: hi },
        game_stage::TXS | game_stage::STEP | game_stage::HEADER => {
            let block = to_u64(game.blockContext().call().await?.number);
            let tx_count = to_u64(game.txCount().call().await?);
            match stage {
                game_stage::HEADER => Position::JudgeHeader { block, tx_count },
                game_stage::STEP => Position::Step {
                    block,
                    tx_count,
                    tx_index: lo,
                    claim_after: game.claimHi().call().await?,
                },
                _ if mid_claimed => Position::ChooseTx {
                    block,
                    tx_count,
                    bisection,
                    claim: game.midClaim().call().await?,
                },
                _ => Position::ClaimTx {
                    block,
                    tx_count,
                    bisection,
                },
            }
        }
        other => return Err(unexpected(format!("stage {other}"))),
    })
}
