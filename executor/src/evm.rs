//! One transaction on revm, with Parallax's fee rules in a [`Handler`].
//!
//! Both engines run every transaction through [`transact`]; they differ only in the database the
//! EVM reads from and in whether fee credits are applied by the EVM ([`FeeMode::Immediate`]) or
//! handed back to be accounted lazily ([`FeeMode::Deferred`]).

use std::cell::Cell;

use alloy_primitives::{Address, U256};
use revm::{
    context::{
        journaled_state::account::JournaledAccountTr,
        result::{EVMError, ExecutionResult, HaltReason, InvalidTransaction},
        BlockEnv, CfgEnv, Context, Journal, TxEnv,
    },
    context_interface::{Block, Cfg, ContextTr, JournalTr, Transaction},
    handler::{EvmTr, FrameResult, Handler, MainnetEvm},
    primitives::hardfork::SpecId,
    state::EvmState,
    Database, MainBuilder,
};

use crate::types::ExecutionEnv;

/// The revm context every Parallax transaction runs in. Block and transaction are borrowed, so
/// running a transaction copies neither.
pub(crate) type TxContext<'a, DB> = Context<&'a BlockEnv, &'a TxEnv, CfgEnv, DB, Journal<DB>, ()>;

/// The EVM type built from [`TxContext`].
pub(crate) type TxEvm<'a, DB> = MainnetEvm<TxContext<'a, DB>>;

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
}

/// Result of one transaction: revm's result, the touched accounts and any deferred fees.
pub(crate) struct TxOutput {
    pub(crate) result: ExecutionResult<HaltReason>,
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

/// Mainnet handler plus Parallax fee crediting (base fee to a vault) and optional deferral.
struct FeeHandler<'a, DB> {
    mode: FeeMode,
    base_fee_recipient: Option<Address>,
    fees: Cell<Fees>,
    _db: std::marker::PhantomData<(&'a (), fn() -> DB)>,
}

impl<'a, DB: Database> Handler for FeeHandler<'a, DB> {
    type Evm = TxEvm<'a, DB>;
    type Error = TxError<DB::Error>;
    type HaltReason = HaltReason;

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
            base_fee_vault: match self.base_fee_recipient {
                Some(_) if london => U256::from(basefee) * used,
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
            }
        }
        Ok(())
    }
}

/// Executes `tx` on `db` without committing: returns the result and every account it touched.
pub(crate) fn transact<'a, DB: Database>(
    env: &'a ExecutionEnv,
    cfg: &CfgEnv,
    tx: &'a TxEnv,
    db: DB,
    mode: FeeMode,
) -> Result<TxOutput, TxError<DB::Error>> {
    let ctx: TxContext<'a, DB> = Context::<BlockEnv, TxEnv, CfgEnv, DB>::new(db, env.spec)
        .with_cfg(cfg.clone())
        .with_block(&env.block)
        .with_tx(tx);
    let mut evm = ctx.build_mainnet();
    let mut handler = FeeHandler::<'a, DB> {
        mode,
        base_fee_recipient: env.base_fee_recipient,
        fees: Cell::new(Fees::default()),
        _db: std::marker::PhantomData,
    };
    let result = handler.run(&mut evm);
    let state = evm.ctx().journal_mut().finalize();
    Ok(TxOutput {
        result: result?,
        state,
        fees: handler.fees.get(),
    })
}
