//! One transaction on revm, with Parallax's fee rules in a [`Handler`].
//!
//! Both engines run every transaction through [`transact`]; they differ only in the database the
//! EVM reads from and in whether fee credits are applied by the EVM ([`FeeMode::Immediate`]) or
//! handed back to be accounted lazily ([`FeeMode::Deferred`]). The rollup's own rules live here
//! too, so the engines cannot disagree on them: deposits mint before they run and never fail to
//! be included, and signed transactions pay an L1 data fee up front (see [`TxFunding`]).

use std::cell::Cell;

use alloy_primitives::{Address, U256};
use revm::{
    context::{
        journaled_state::account::JournaledAccountTr,
        result::{EVMError, ExecutionResult, HaltReason, InvalidTransaction},
        BlockEnv, CfgEnv, Context, FrameStack, Journal, TxEnv,
    },
    context_interface::{Block, Cfg, ContextTr, JournalTr, Transaction},
    handler::{
        instructions::EthInstructions, pre_execution, EthFrame, EthPrecompiles, EvmTr, FrameResult,
        Handler, MainnetEvm,
    },
    inspector::{Inspector, InspectorHandler},
    interpreter::{interpreter::EthInterpreter, InitialAndFloorGas},
    primitives::hardfork::SpecId,
    state::{Account, EvmState},
    Database,
};

use crate::types::{BlockTransaction, ExecutionEnv, TxFunding};

/// The revm context every Parallax transaction runs in. Block and transaction are borrowed, so
/// running a transaction copies neither.
pub(crate) type TxContext<'a, DB> = Context<&'a BlockEnv, &'a TxEnv, CfgEnv, DB, Journal<DB>, ()>;

/// The EVM type built from [`TxContext`], with an inspector (`()` when nothing watches).
pub(crate) type TxEvm<'a, DB, INSP = ()> = MainnetEvm<TxContext<'a, DB>, INSP>;

/// Whether fee credits are applied during execution or returned to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FeeMode {
    /// Credit the beneficiary (and base-fee vault) inside the transaction, as Ethereum does.
    Immediate,
    /// Do not touch fee recipients; report the amounts in [`TxOutput::fees`].
    Deferred,
}

/// Fees one transaction owes to the block's fee recipients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Fees {
    /// Priority fee (the whole gas price before London) owed to the beneficiary.
    pub(crate) beneficiary: U256,
    /// Base fee owed to the base-fee vault (zero when base fees are burnt).
    pub(crate) base_fee_vault: U256,
    /// L1 data fee owed to the L1-fee vault.
    pub(crate) l1_fee_vault: U256,
}

impl Fees {
    /// What `recipient` is owed, for recipients listed by [`ExecutionEnv::fee_recipients`]
    /// (one address may hold several roles, e.g. a beneficiary that is also the base-fee vault).
    pub(crate) fn owed_to(&self, env: &ExecutionEnv, recipient: Address) -> U256 {
        let mut owed = U256::ZERO;
        if recipient == env.block.beneficiary {
            owed = owed.saturating_add(self.beneficiary);
        }
        if env.base_fee_recipient == Some(recipient) {
            owed = owed.saturating_add(self.base_fee_vault);
        }
        if env.l1_fee_recipient == Some(recipient) {
            owed = owed.saturating_add(self.l1_fee_vault);
        }
        owed
    }
}

/// How a transaction ended, as far as its receipt goes.
pub(crate) enum Executed {
    /// revm ran it.
    Evm(ExecutionResult<HaltReason>),
    /// A deposit revm refused; it is included as a failure using its whole gas limit.
    FailedDeposit { gas_used: u64, reason: String },
}

/// Result of one transaction: how it ended, the touched accounts and any deferred fees.
pub(crate) struct TxOutput {
    pub(crate) result: Executed,
    pub(crate) state: EvmState,
    pub(crate) fees: Fees,
}

/// Errors of one transaction run, generic over the database error.
pub(crate) type TxError<E> = EVMError<E, InvalidTransaction>;

/// Builds the [`CfgEnv`] for a block once; each transaction clones it (gas tables are shared).
pub(crate) fn cfg_env(env: &ExecutionEnv) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(env.spec);
    cfg.chain_id = env.chain_id;
    // revm leaves the blob count unchecked unless told; the limit is the block's blob budget
    // (Cancun 786432 / 131072 = 6 blobs, Prague 9) and, from Osaka, EIP-7594's 6 per transaction.
    if env.spec.is_enabled_in(SpecId::CANCUN) {
        let prague_only =
            env.spec.is_enabled_in(SpecId::PRAGUE) && !env.spec.is_enabled_in(SpecId::OSAKA);
        cfg.set_max_blobs_per_tx(if prague_only { 9 } else { 6 });
    }
    cfg
}

/// Mainnet handler plus Parallax's rules: deposits mint, signed transactions pay the L1 data
/// fee, the base fee goes to a vault, and crediting may be deferred.
struct FeeHandler<'a, DB, INSP = ()> {
    mode: FeeMode,
    funding: TxFunding,
    base_fee_recipient: Option<Address>,
    l1_fee_recipient: Option<Address>,
    fees: Cell<Fees>,
    _db: std::marker::PhantomData<(&'a (), fn() -> (DB, INSP))>,
}

impl<'a, DB: Database, INSP> Handler for FeeHandler<'a, DB, INSP> {
    type Evm = TxEvm<'a, DB, INSP>;
    type Error = TxError<DB::Error>;
    type HaltReason = HaltReason;

    /// Before revm's checks and fee deduction, a deposit mints into its sender; after them, a
    /// signed transaction pays its L1 data fee. Both happen before the execution checkpoint, so
    /// a revert keeps them, as it keeps the gas payment.
    fn validate_against_state_and_deduct_caller(
        &self,
        evm: &mut Self::Evm,
        _init_and_floor_gas: &mut InitialAndFloorGas,
    ) -> Result<(), Self::Error> {
        let ctx = evm.ctx();
        let caller = ctx.tx().caller();
        if let TxFunding::Deposit { mint, .. } = self.funding {
            if !mint.is_zero() {
                ctx.journal_mut()
                    .load_account_mut(caller)?
                    .incr_balance(mint);
            }
        }
        pre_execution::validate_against_state_and_deduct_caller::<_, Self::Error>(ctx)?;
        if let TxFunding::Signed { l1_data_fee } = self.funding {
            if !l1_data_fee.is_zero() && !ctx.cfg().is_fee_charge_disabled() {
                let value = ctx.tx().value();
                let mut account = ctx.journal_mut().load_account_mut(caller)?;
                let balance = *account.balance();
                // revm has taken the gas; what is left must cover the value and this fee.
                let needed = value.saturating_add(l1_data_fee);
                if balance < needed {
                    return Err(InvalidTransaction::LackOfFundForMaxFee {
                        fee: Box::new(needed),
                        balance: Box::new(balance),
                    }
                    .into());
                }
                account.set_balance(balance - l1_data_fee);
            }
        }
        Ok(())
    }

    fn reward_beneficiary(
        &self,
        evm: &mut Self::Evm,
        exec_result: &mut FrameResult,
    ) -> Result<(), Self::Error> {
        let ctx = evm.ctx();
        if ctx.cfg().is_fee_charge_disabled() {
            return Ok(());
        }
        let gas = exec_result.gas();
        let basefee = ctx.block().basefee() as u128;
        let gas_price = ctx.tx().effective_gas_price(basefee);
        let london = ctx.cfg().spec().is_enabled_in(SpecId::LONDON);
        let tip = if london {
            gas_price.saturating_sub(basefee)
        } else {
            gas_price
        };
        // Same gas figure revm's mainnet reward uses; U256 so no gas price can overflow it.
        let used = U256::from(gas.used().saturating_sub(gas.reservoir()));
        let fees = Fees {
            beneficiary: U256::from(tip) * used,
            // What the sender actually paid per gas towards the base fee: all of it normally,
            // nothing for a deposit (gas price zero), so no vault is credited unpaid wei.
            base_fee_vault: match self.base_fee_recipient {
                Some(_) if london => U256::from(basefee.min(gas_price)) * used,
                _ => U256::ZERO,
            },
            l1_fee_vault: match (self.funding, self.l1_fee_recipient) {
                (TxFunding::Signed { l1_data_fee }, Some(_)) => l1_data_fee,
                _ => U256::ZERO,
            },
        };
        match self.mode {
            FeeMode::Deferred => self.fees.set(fees),
            FeeMode::Immediate => {
                let beneficiary = ctx.block().beneficiary();
                ctx.journal_mut()
                    .load_account_mut(beneficiary)?
                    .incr_balance(fees.beneficiary);
                if let Some(vault) = self.base_fee_recipient {
                    ctx.journal_mut()
                        .load_account_mut(vault)?
                        .incr_balance(fees.base_fee_vault);
                }
                if let Some(vault) = self.l1_fee_recipient {
                    if !fees.l1_fee_vault.is_zero() {
                        ctx.journal_mut()
                            .load_account_mut(vault)?
                            .incr_balance(fees.l1_fee_vault);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Tracing runs the same handler, with revm's inspector hooks called.
impl<'a, DB: Database, INSP: Inspector<TxContext<'a, DB>>> InspectorHandler
    for FeeHandler<'a, DB, INSP>
{
    type IT = EthInterpreter;
}

/// Executes `tx` on `db` without committing: returns how it ended and every account it touched.
pub(crate) fn transact<'a, DB: Database, T: BlockTransaction + ?Sized>(
    env: &'a ExecutionEnv,
    cfg: &CfgEnv,
    tx: &'a T,
    db: DB,
    mode: FeeMode,
) -> Result<TxOutput, TxError<DB::Error>> {
    run(env, cfg, tx, db, mode, (), |handler, evm| handler.run(evm))
}

/// As [`transact`] (fees credited immediately), with `inspector` watching every frame, step
/// and log: what the tracers of `debug_trace*` see is exactly the execution blocks get.
pub(crate) fn transact_inspected<'a, DB: Database, T: BlockTransaction + ?Sized, INSP>(
    env: &'a ExecutionEnv,
    cfg: &CfgEnv,
    tx: &'a T,
    db: DB,
    inspector: INSP,
) -> Result<TxOutput, TxError<DB::Error>>
where
    INSP: Inspector<TxContext<'a, DB>>,
{
    run(
        env,
        cfg,
        tx,
        db,
        FeeMode::Immediate,
        inspector,
        |handler, evm| handler.inspect_run(evm),
    )
}

type RunResult<DB> = Result<ExecutionResult<HaltReason>, TxError<<DB as Database>::Error>>;

thread_local! {
    /// This thread's EVM call frames, kept from one transaction to the next while a
    /// [`KeepFrames`] is alive, as revm does when one EVM runs many transactions. Each frame
    /// holds a 32 KiB operand stack; revm's builder preallocates eight per EVM, and doing that per
    /// transaction (then freeing them, which shrinks a worker thread's heap) took a fifth of a
    /// plain transfer's time in Block-STM's workers. Frames are created as calls need them and
    /// re-initialised on entry, so nothing of one transaction reaches the next.
    static FRAMES: Cell<Option<FrameStack<EthFrame<EthInterpreter>>>> = const { Cell::new(None) };
    /// Whether a [`KeepFrames`] is alive on this thread.
    static KEEP_FRAMES: Cell<bool> = const { Cell::new(false) };
}

/// Keeps this thread's EVM call frames between transactions until dropped, then frees them:
/// an engine holds one for a block, so a deep call's frames (up to 1024 of them) do not outlive
/// the block on a thread that goes on to do other things.
pub(crate) struct KeepFrames {
    outer: bool,
}

impl KeepFrames {
    pub(crate) fn new() -> Self {
        Self {
            outer: KEEP_FRAMES.replace(true),
        }
    }
}

impl Drop for KeepFrames {
    fn drop(&mut self) {
        KEEP_FRAMES.set(self.outer);
        if !self.outer {
            FRAMES.take();
        }
    }
}

fn run<'a, DB: Database, T: BlockTransaction + ?Sized, INSP>(
    env: &'a ExecutionEnv,
    cfg: &CfgEnv,
    tx: &'a T,
    db: DB,
    mode: FeeMode,
    inspector: INSP,
    execute: impl FnOnce(&mut FeeHandler<'a, DB, INSP>, &mut TxEvm<'a, DB, INSP>) -> RunResult<DB>,
) -> Result<TxOutput, TxError<DB::Error>> {
    let funding = tx.funding();
    let mut cfg = cfg.clone();
    if let TxFunding::Deposit { .. } = funding {
        // Deposits are authorised by L1, not by a signature and nonce, and paid for on L1.
        cfg.disable_nonce_check = true;
        cfg.disable_base_fee = true;
    }
    let ctx: TxContext<'a, DB> = Context::<BlockEnv, TxEnv, CfgEnv, DB>::new(db, env.spec)
        .with_cfg(cfg)
        .with_block(&env.block)
        .with_tx(tx.env());
    let keep_frames = KEEP_FRAMES.get();
    let mut evm = TxEvm {
        ctx,
        inspector,
        instruction: EthInstructions::new_mainnet_with_spec(env.spec),
        precompiles: EthPrecompiles::new(env.spec),
        frame_stack: if keep_frames {
            FRAMES.take().unwrap_or_default()
        } else {
            FrameStack::new()
        },
    };
    let mut handler = FeeHandler::<'a, DB, INSP> {
        mode,
        funding,
        base_fee_recipient: env.base_fee_recipient,
        l1_fee_recipient: env.l1_fee_recipient,
        fees: Cell::new(Fees::default()),
        _db: std::marker::PhantomData,
    };
    let result = execute(&mut handler, &mut evm);
    let TxEvm {
        ctx: mut context,
        mut frame_stack,
        ..
    } = evm;
    if keep_frames {
        frame_stack.clear();
        FRAMES.set(Some(frame_stack));
    }
    let state = context.journal_mut().finalize();
    match (result, funding) {
        (Ok(result), _) => Ok(TxOutput {
            result: Executed::Evm(result),
            state,
            fees: handler.fees.get(),
        }),
        (Err(EVMError::Transaction(invalid)), TxFunding::Deposit { mint, .. }) => {
            let caller = tx.env().caller;
            let state = failed_deposit_state(context.db_mut(), caller, mint)?;
            Ok(TxOutput {
                result: Executed::FailedDeposit {
                    gas_used: tx.env().gas_limit,
                    reason: invalid.to_string(),
                },
                state,
                fees: Fees::default(),
            })
        }
        (Err(error), _) => Err(error),
    }
}

/// The effect of a deposit revm refused: the mint stays and the sender's nonce moves on, so the
/// deposit is consumed and cannot be replayed; nothing else happens.
fn failed_deposit_state<DB: Database>(
    db: &mut DB,
    caller: Address,
    mint: U256,
) -> Result<EvmState, TxError<DB::Error>> {
    let mut info = db
        .basic(caller)
        .map_err(EVMError::Database)?
        .unwrap_or_default();
    info.balance = info.balance.saturating_add(mint);
    info.nonce = info.nonce.saturating_add(1);
    let mut account = Account::from(info);
    account.mark_touch();
    let mut state = EvmState::default();
    state.insert(caller, account);
    Ok(state)
}
