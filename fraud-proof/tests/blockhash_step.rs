//! A one-step proof of a transaction that reads BLOCKHASH of older blocks, end to end from a
//! sealed chain: a dev node seals blocks; a contract stores `BLOCKHASH(NUMBER - d)` for several
//! depths `d`; for each call the challenger's truth over the node's store builds the step
//! arguments (`ChainTruth::step_args`, with the ancestor headers read from the store), and both
//! the Rust step model and the Solidity `EvmStepVerifier` (run in revm) re-execute the
//! transaction from them. Their commitment is the honest one, which differs from a consistent
//! liar's claim about the same block: the game's step would decide for the challenger.
//!
//! The hashes the contract stored are checked against the store's headers (the executor's
//! block-hash provider gives the L2 block hashes), and the witness carries exactly `d - 1`
//! ancestor headers.

mod common;

use std::time::Duration;

use common::{dev_sequencer, DevSequencer};

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, Bytes, B256, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolConstructor, SolValue},
};
use parallax_contracts::{EvmInterpreter, EvmPrecompiles, EvmStepVerifier};
use parallax_executor::revm::{
    context::{result::ExecutionResult, Context, TxEnv},
    database::{CacheDB, EmptyDB},
    primitives::{hardfork::SpecId, TxKind},
    ExecuteCommitEvm, MainBuilder, MainContext,
};
use parallax_fraud_proof::{
    step_model::{self, state},
    truth::{ChainTruth, Corruption, Lie},
};
use parallax_protocol::predeploys::{BASE_FEE_VAULT, L1_FEE_VAULT};
use parallax_sequencer::genesis::dev_accounts;
use parallax_state::store::ChainStore;

/// Runtime: `d = CALLDATALOAD(0); SSTORE(d, BLOCKHASH(NUMBER - d))`, behind a constructor that
/// returns it.
fn reader_initcode() -> Bytes {
    let runtime = [0x60, 0x00, 0x35, 0x80, 0x43, 0x03, 0x40, 0x90, 0x55, 0x00];
    let mut init = vec![
        0x60,
        runtime.len() as u8,
        0x60,
        0x0c,
        0x60,
        0x00,
        0x39,
        0x60,
        runtime.len() as u8,
        0x60,
        0x00,
        0xf3,
    ];
    init.extend_from_slice(&runtime);
    init.into()
}

/// The verifier contracts deployed in an in-memory revm (as on L1).
struct L1Verifier {
    db: CacheDB<EmptyDB>,
    verifier: Address,
}

impl L1Verifier {
    fn deploy(chain_id: u64) -> Self {
        let mut this = Self {
            db: CacheDB::default(),
            verifier: Address::ZERO,
        };
        let precompiles = this.create(EvmPrecompiles::BYTECODE.clone());
        let mut initcode = EvmInterpreter::BYTECODE.to_vec();
        initcode.extend(EvmInterpreter::constructorCall::new((precompiles,)).abi_encode());
        let interpreter = this.create(initcode.into());
        let mut initcode = EvmStepVerifier::BYTECODE.to_vec();
        initcode.extend(
            EvmStepVerifier::constructorCall::new((
                interpreter,
                U256::from(chain_id),
                BASE_FEE_VAULT,
                L1_FEE_VAULT,
            ))
            .abi_encode(),
        );
        this.verifier = this.create(initcode.into());
        this
    }

    fn run(&mut self, kind: TxKind, data: Bytes) -> ExecutionResult {
        let mut evm = Context::mainnet()
            .with_db(&mut self.db)
            .modify_cfg_chained(|cfg| {
                cfg.spec = SpecId::CANCUN;
                cfg.disable_base_fee = true;
                cfg.disable_nonce_check = true;
            })
            .build_mainnet();
        let tx = TxEnv {
            caller: Address::repeat_byte(0xde),
            kind,
            data,
            gas_limit: 30_000_000,
            gas_price: 0,
            ..Default::default()
        };
        evm.transact_commit(tx)
            .expect("the L1 transaction is valid")
    }

    fn create(&mut self, initcode: Bytes) -> Address {
        match self.run(TxKind::Create, initcode) {
            ExecutionResult::Success {
                output: parallax_executor::revm::context::result::Output::Create(_, Some(address)),
                ..
            } => address,
            other => panic!("deployment failed: {other:?}"),
        }
    }

    /// `verifyTransaction`: the commitment and the L1 gas.
    fn verify(&mut self, call: &EvmStepVerifier::verifyTransactionCall) -> (B256, u64) {
        match self.run(TxKind::Call(self.verifier), call.abi_encode().into()) {
            ExecutionResult::Success { output, gas, .. } => (
                EvmStepVerifier::verifyTransactionCall::abi_decode_returns(output.data())
                    .expect("the verifier's output decodes"),
                gas.tx_gas_used(),
            ),
            other => panic!("the verifier failed: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_reading_older_block_hashes_decides_for_the_challenger() {
    let DevSequencer {
        running,
        store,
        rollup,
        dir: _dir,
    } = dev_sequencer().await;

    let accounts = dev_accounts().expect("dev accounts");
    let key = PrivateKeySigner::from_bytes(&accounts[0].private_key).expect("key");
    let endpoint: alloy::transports::http::reqwest::Url =
        format!("http://{}", running.rpc_addr).parse().expect("url");
    let alice = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(endpoint);
    let receipt = |sent: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>| async move {
        let receipt = sent
            .with_timeout(Some(Duration::from_secs(20)))
            .get_receipt()
            .await
            .expect("mined");
        assert!(receipt.status());
        receipt
    };
    let deployed = receipt(
        alice
            .send_transaction(TransactionRequest::default().with_deploy_code(reader_initcode()))
            .await
            .expect("sent"),
    )
    .await;
    let reader = deployed.contract_address.expect("deployed");
    // Enough blocks below the calls for the deepest read.
    while alice.get_block_number().await.expect("head") < 12 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut calls = Vec::new();
    for depth in [1u64, 2, 5, 9] {
        let request = TransactionRequest::default()
            .with_to(reader)
            .with_input(Bytes::from(U256::from(depth).to_be_bytes::<32>().to_vec()));
        let mined = receipt(alice.send_transaction(request).await.expect("sent")).await;
        calls.push((
            depth,
            mined.block_number.expect("in a block"),
            mined.transaction_index.expect("indexed"),
        ));
    }
    running.stop().await.expect("node stops");

    let mut l1 = L1Verifier::deploy(rollup.l2_chain_id);
    let config = step_model::ChainConfig {
        chain_id: rollup.l2_chain_id,
        base_fee_vault: BASE_FEE_VAULT,
        l1_fee_vault: L1_FEE_VAULT,
    };
    let honest = ChainTruth::new(store.clone(), rollup.clone());
    for (depth, block, index) in calls {
        // The executor gave the L2 block hash of `block - depth`.
        let read = store
            .header(block - depth)
            .await
            .expect("read")
            .expect("stored header")
            .hash;
        let view = honest.block(block).await.expect("replayed");
        let stored = parallax_state::store::HistoricalState::at(store.clone(), block)
            .await
            .expect("retained block")
            .storage(&reader, U256::from(depth))
            .await
            .expect("stored slot");
        assert_eq!(
            stored,
            U256::from_be_bytes(read.0),
            "BLOCKHASH({block} - {depth})"
        );
        assert_eq!(
            index + 1,
            view.transactions.len() as u64,
            "the call is its block's last transaction"
        );

        let args = honest.step_args(block, index).await.expect("step args");
        let (_, ancestors) = state::decode(&args.witness).expect("the witness decodes");
        assert_eq!(
            ancestors.len() as u64,
            depth - 1,
            "ancestor headers for BLOCKHASH({block} - {depth})"
        );
        let header = &view.header;
        let ctx = step_model::BlockContext {
            number: U256::from(header.number),
            timestamp: U256::from(header.timestamp),
            coinbase: header.beneficiary,
            gas_limit: U256::from(header.gas_limit),
            base_fee: U256::from(header.base_fee_per_gas.unwrap_or_default()),
            prev_randao: header.mix_hash,
            parent_hash: header.parent_hash,
        };
        let model = step_model::execute_transaction(&step_model::StepInput {
            ctx,
            config,
            pre_state_root: args.pre.state_root,
            pre_cumulative_gas: args.pre.cumulative_gas,
            pre_receipts_hash: args.pre.receipts_hash,
            tx_rlp: &args.tx,
            witness: &args.witness,
        })
        .expect("the model proves the step");
        let honest_after = honest
            .trace_state(block, index + 1)
            .await
            .expect("honest trace")
            .commitment();
        assert_eq!(model.commitment, honest_after, "model, depth {depth}");

        let call = EvmStepVerifier::verifyTransactionCall {
            ctx: EvmStepVerifier::BlockContext {
                chainId: U256::from(rollup.l2_chain_id),
                number: ctx.number,
                timestamp: ctx.timestamp,
                coinbase: ctx.coinbase,
                gasLimit: ctx.gas_limit,
                baseFee: ctx.base_fee,
                prevRandao: ctx.prev_randao,
                parentHash: ctx.parent_hash,
            },
            txIndex: U256::from(index),
            preStateRoot: args.pre.state_root,
            preCumulativeGas: U256::from(args.pre.cumulative_gas),
            preReceiptsHash: args.pre.receipts_hash,
            txRlp: args.tx.clone(),
            witness: args.witness.clone(),
        };
        let (verified, l1_gas) = l1.verify(&call);
        assert_eq!(verified, honest_after, "verifier, depth {depth}");
        println!("BLOCKHASH(number - {depth}): step verified in {l1_gas} L1 gas");

        // A liar's claim after the same transaction differs: the step decides for the
        // challenger (`postCommitment != D_hi`).
        let lie = Corruption {
            block,
            lie: Lie::Balance {
                account: Address::repeat_byte(0x66),
                extra_wei: U256::from(1),
            },
        };
        let liar = ChainTruth::corrupted(store.clone(), rollup.clone(), lie);
        let claimed = liar
            .trace_state(block, index + 1)
            .await
            .expect("lying trace")
            .commitment();
        assert_ne!(verified, claimed, "the liar's claim survives the step");
        assert_eq!(
            liar.trace_state(block, index).await.expect("agreed"),
            args.pre,
            "both agree on the state before the step"
        );

        // Without the ancestor headers the step cannot be decided (a retry with them can);
        // only the parent's hash needs none.
        if depth > 1 {
            let (state_part, _) = state::decode(&args.witness).expect("decodes");
            let stripped: Bytes = (
                state_part.0,
                state_part.1,
                state_part.2,
                state_part.3,
                state_part.4,
                Vec::<Bytes>::new(),
            )
                .abi_encode_params()
                .into();
            let refused = step_model::execute_transaction(&step_model::StepInput {
                ctx,
                config,
                pre_state_root: args.pre.state_root,
                pre_cumulative_gas: args.pre.cumulative_gas,
                pre_receipts_hash: args.pre.receipts_hash,
                tx_rlp: &args.tx,
                witness: &stripped,
            });
            assert_eq!(
                refused.map(|outcome| outcome.commitment),
                Err(step_model::StepModelError::MissingAncestor(block - depth))
            );
        }
    }
}
