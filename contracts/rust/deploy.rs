//! Deploys the settlement contracts behind proxies, as `script/Deploy.s.sol` does, from the same
//! JSON configuration (`deploy/devnet.json`), and describes the result in the same JSON format
//! the node configuration reads.

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    sol_types::SolCall,
};
use serde::{Deserialize, Deserializer, Serialize};

use crate::bindings::{
    DisputeGameFactory, EvmInterpreter, EvmPrecompiles, EvmStepVerifier, OutputOracle, Portal,
    Proxy, SystemConfig,
};

/// Deployment parameters (`contracts/deploy/devnet.json`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployConfig {
    /// Proxy admin: upgrade key, separate from every operator key.
    pub admin: Address,
    /// Owner of the system configuration.
    pub owner: Address,
    /// The only sender whose inbox transactions derivation accepts.
    pub batcher: Address,
    /// Where batches are sent.
    pub batch_inbox: Address,
    /// The only sender allowed to propose output roots.
    pub proposer: Address,
    /// Allowed challenger (zero: anyone).
    pub challenger: Address,
    /// May pause withdrawals.
    pub guardian: Address,
    /// L2 block gas limit.
    pub gas_limit: u64,
    /// L2 EIP-1559 elasticity.
    pub eip1559_elasticity: u32,
    /// L2 EIP-1559 base-fee change denominator.
    pub eip1559_denominator: u32,
    /// L1 data fee scalar on the L1 base fee.
    pub l1_base_fee_scalar: u32,
    /// L1 data fee scalar on the L1 blob base fee.
    pub l1_blob_base_fee_scalar: u32,
    /// L2 blocks between proposals.
    #[serde(deserialize_with = "u256")]
    pub proposal_interval: U256,
    /// L2 block time in milliseconds.
    #[serde(deserialize_with = "u256")]
    pub l2_block_time_ms: U256,
    /// L2 genesis timestamp (0: the deployment block's timestamp).
    #[serde(deserialize_with = "u256")]
    pub genesis_l2_timestamp: U256,
    /// L2 block of the starting output root.
    #[serde(deserialize_with = "u256")]
    pub starting_block_number: U256,
    /// Output root the oracle starts from.
    pub starting_output_root: B256,
    /// Seconds a proposal can be challenged.
    #[serde(deserialize_with = "u256")]
    pub challenge_window: U256,
    /// Wei a proposer bonds per proposal.
    #[serde(deserialize_with = "u256")]
    pub proposal_bond: U256,
    /// Wei a challenger bonds.
    #[serde(deserialize_with = "u256")]
    pub challenge_bond: U256,
    /// An existing dispute-game factory to use; zero deploys a new one for the oracle.
    pub dispute_game_factory: Address,
    /// Step verifier of a newly deployed factory; zero deploys the EVM step verifier
    /// ([`deploy_step_verifier`]).
    #[serde(default)]
    pub step_verifier: Address,
    /// Seconds on each party's chess clock in a newly deployed factory's games.
    #[serde(default = "default_dispute_clock", deserialize_with = "u256")]
    pub dispute_clock_seconds: U256,
    /// The L2 chain id (given to the step verifier as CHAINID).
    pub l2_chain_id: u64,
}

/// The protocol's default chess clock: 3.5 days per party.
fn default_dispute_clock() -> U256 {
    U256::from(302_400u64)
}

/// A quantity written as a JSON number or as a decimal / `0x` string (wei amounts exceed JSON's
/// safe integers).
fn u256<'de, D: Deserializer<'de>>(deserializer: D) -> Result<U256, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Quantity {
        Number(u64),
        Text(String),
    }
    match Quantity::deserialize(deserializer)? {
        Quantity::Number(number) => Ok(U256::from(number)),
        Quantity::Text(text) => text.parse().map_err(serde::de::Error::custom),
    }
}

/// Addresses of a deployment (the JSON `Deploy.s.sol` writes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// `SystemConfig` proxy.
    pub system_config: Address,
    /// Its implementation.
    pub system_config_impl: Address,
    /// `OutputOracle` proxy.
    pub output_oracle: Address,
    /// Its implementation.
    pub output_oracle_impl: Address,
    /// `Portal` proxy.
    pub portal: Address,
    /// Its implementation.
    pub portal_impl: Address,
    /// `DisputeGameFactory` the oracle opens games with (zero in deployments made before it).
    #[serde(default)]
    pub dispute_game_factory: Address,
    /// The factory's step verifier (zero when the factory was given, not deployed).
    #[serde(default)]
    pub step_verifier: Address,
    /// Batch inbox address.
    pub batch_inbox: Address,
    /// Proxy admin.
    pub proxy_admin: Address,
    /// L2 genesis timestamp the oracle uses.
    pub genesis_l2_timestamp: U256,
    /// L1 block of the last deployment transaction (where derivation starts scanning).
    pub deployed_at_block: u64,
}

impl Deployment {
    /// The L1 block derivation of this chain starts from: the newest block, at or before the
    /// deployment, that is not newer than the L2 genesis time. (Derivation requires every L2
    /// block's time to be at or after its L1 origin's, starting with genesis; the deployment's
    /// own block is usually a few seconds newer than the time the oracle was given.)
    pub async fn genesis_anchor<P: Provider>(
        &self,
        provider: &P,
    ) -> Result<parallax_protocol::block::BlockId, DeployError> {
        let genesis_time: u64 = self.genesis_l2_timestamp.saturating_to();
        let mut number = self.deployed_at_block;
        loop {
            let block = provider
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Number(number))
                .await?
                .ok_or_else(|| {
                    DeployError::Rpc(alloy::transports::TransportErrorKind::custom_str(&format!(
                        "L1 block {number} is missing"
                    )))
                })?;
            if block.header.timestamp <= genesis_time || number == 0 {
                return Ok(parallax_protocol::block::BlockId {
                    number,
                    hash: block.header.hash,
                });
            }
            number -= 1;
        }
    }

    /// The rollup configuration of the chain this deployment settles: the contract addresses,
    /// the parameters `config` set on L1, and the genesis anchor (`genesis_l1`, the L1 block
    /// derivation starts from, normally [`Deployment::genesis_anchor`]; the L2 genesis time
    /// the oracle was given). The L2 genesis hash is left zero: the node fills it in from the
    /// genesis state.
    pub fn rollup_config(
        &self,
        config: &DeployConfig,
        l2_chain_id: u64,
        genesis_l1: parallax_protocol::block::BlockId,
    ) -> parallax_protocol::RollupConfig {
        use parallax_protocol::{config::Eip1559Params, L1FeeScalars, RollupConfig};
        let defaults = RollupConfig::default();
        let mut rollup = RollupConfig {
            l2_chain_id,
            block_time_ms: config.l2_block_time_ms.saturating_to(),
            gas_limit: config.gas_limit,
            eip1559: Eip1559Params {
                elasticity: u64::from(config.eip1559_elasticity),
                denominator: u64::from(config.eip1559_denominator),
            },
            proposal_interval: config.proposal_interval.saturating_to(),
            batcher_address: config.batcher,
            batch_inbox_address: self.batch_inbox,
            portal_address: self.portal,
            system_config_address: self.system_config,
            l1_fee_scalars: L1FeeScalars {
                base_fee_scalar: config.l1_base_fee_scalar,
                blob_base_fee_scalar: config.l1_blob_base_fee_scalar,
            },
            ..defaults
        };
        rollup.genesis.l1 = genesis_l1;
        rollup.genesis.l2_timestamp = self.genesis_l2_timestamp.saturating_to();
        rollup
    }
}

/// Why a deployment failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// A deployment transaction failed or reverted.
    #[error("deploying {what}: {source}")]
    Contract {
        /// Which contract.
        what: &'static str,
        /// The error.
        source: alloy::contract::Error,
    },
    /// The oracle proxy did not land at the address the dispute-game factory was given.
    #[error(
        "OutputOracle proxy deployed at {deployed}, but the dispute-game factory names {predicted}"
    )]
    OracleAddressMismatch {
        /// The address predicted from the deployer's nonce.
        predicted: Address,
        /// Where the proxy was deployed.
        deployed: Address,
    },
    /// Reading the chain failed.
    #[error("L1 RPC: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
}

/// Deploys the EVM one-step verifier for L2 chain `l2_chain_id`: `EvmPrecompiles`, then
/// `EvmInterpreter` over it, then `EvmStepVerifier` crediting the L2 fee-vault predeploys (three
/// contracts because one would exceed EIP-170's code size limit). Returns the verifier.
pub async fn deploy_step_verifier<P: Provider>(
    provider: &P,
    l2_chain_id: u64,
) -> Result<Address, DeployError> {
    let failed = |what| move |source| DeployError::Contract { what, source };
    let precompiles = *EvmPrecompiles::deploy(provider)
        .await
        .map_err(failed("EvmPrecompiles"))?
        .address();
    let interpreter = *EvmInterpreter::deploy(provider, precompiles)
        .await
        .map_err(failed("EvmInterpreter"))?
        .address();
    Ok(*EvmStepVerifier::deploy(
        provider,
        interpreter,
        U256::from(l2_chain_id),
        parallax_protocol::predeploys::BASE_FEE_VAULT,
        parallax_protocol::predeploys::L1_FEE_VAULT,
    )
    .await
    .map_err(failed("EvmStepVerifier"))?
    .address())
}

/// Deploys `SystemConfig`, `OutputOracle` and `Portal`, each behind a proxy initialised in its
/// constructor, and (unless the config names one) a `DisputeGameFactory` for the oracle, from the
/// provider's default sender. The factory must name the oracle proxy, which is deployed after it
/// (the oracle is initialised with the factory), so that address is predicted from the
/// deployer's nonce and checked once deployed.
pub async fn deploy<P: Provider>(
    provider: &P,
    config: &DeployConfig,
) -> Result<Deployment, DeployError> {
    let failed = |what| move |source| DeployError::Contract { what, source };
    let genesis_l2_timestamp = if config.genesis_l2_timestamp.is_zero() {
        let latest = provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .map_or(0, |block| block.header.timestamp);
        U256::from(latest)
    } else {
        config.genesis_l2_timestamp
    };

    // Deployed by hand to learn the deployer from the receipt (the nonce prediction needs it).
    let receipt = SystemConfig::deploy_builder(provider)
        .send()
        .await
        .map_err(failed("SystemConfig"))?
        .get_receipt()
        .await
        .map_err(|e| failed("SystemConfig")(e.into()))?;
    let system_config_impl = receipt
        .contract_address
        .filter(|_| receipt.status())
        .ok_or(failed("SystemConfig")(
            alloy::contract::Error::ContractNotDeployed,
        ))?;
    let deployer = receipt.from;
    let init = SystemConfig::initializeCall {
        init: SystemConfig::SystemConfigInit {
            owner: config.owner,
            batcher: config.batcher,
            batchInbox: config.batch_inbox,
            proposer: config.proposer,
            challenger: config.challenger,
            guardian: config.guardian,
            gasLimit: config.gas_limit,
            eip1559Elasticity: config.eip1559_elasticity,
            eip1559Denominator: config.eip1559_denominator,
            l1BaseFeeScalar: config.l1_base_fee_scalar,
            l1BlobBaseFeeScalar: config.l1_blob_base_fee_scalar,
        },
    };
    let system_config = *Proxy::deploy(
        provider,
        config.admin,
        system_config_impl,
        init.abi_encode().into(),
    )
    .await
    .map_err(failed("SystemConfig proxy"))?
    .address();

    let (dispute_game_factory, step_verifier, predicted_oracle) =
        if config.dispute_game_factory.is_zero() {
            let step_verifier = if config.step_verifier.is_zero() {
                deploy_step_verifier(provider, config.l2_chain_id).await?
            } else {
                config.step_verifier
            };
            // The factory takes this nonce, the oracle implementation the next, its proxy the one after.
            let nonce = provider.get_transaction_count(deployer).await?;
            let predicted_oracle = deployer.create(nonce + 2);
            let factory = *DisputeGameFactory::deploy(
                provider,
                predicted_oracle,
                step_verifier,
                config.dispute_clock_seconds,
                U256::from(config.l2_chain_id),
            )
            .await
            .map_err(failed("DisputeGameFactory"))?
            .address();
            (factory, step_verifier, Some(predicted_oracle))
        } else {
            (config.dispute_game_factory, Address::ZERO, None)
        };

    let output_oracle_impl = *OutputOracle::deploy(provider)
        .await
        .map_err(failed("OutputOracle"))?
        .address();
    let init = OutputOracle::initializeCall {
        init: OutputOracle::OutputOracleInit {
            systemConfig: system_config,
            disputeGameFactory: dispute_game_factory,
            proposalInterval: config.proposal_interval,
            l2BlockTimeMs: config.l2_block_time_ms,
            genesisL2Timestamp: genesis_l2_timestamp,
            startingBlockNumber: config.starting_block_number,
            startingOutputRoot: config.starting_output_root,
            challengeWindow: config.challenge_window,
            proposalBond: config.proposal_bond,
            challengeBond: config.challenge_bond,
        },
    };
    let output_oracle = *Proxy::deploy(
        provider,
        config.admin,
        output_oracle_impl,
        init.abi_encode().into(),
    )
    .await
    .map_err(failed("OutputOracle proxy"))?
    .address();
    if let Some(predicted) = predicted_oracle.filter(|predicted| *predicted != output_oracle) {
        return Err(DeployError::OracleAddressMismatch {
            predicted,
            deployed: output_oracle,
        });
    }

    let portal_impl = *Portal::deploy(provider)
        .await
        .map_err(failed("Portal"))?
        .address();
    let init = Portal::initializeCall {
        systemConfig_: system_config,
        oracle_: output_oracle,
    };
    let portal = *Proxy::deploy(
        provider,
        config.admin,
        portal_impl,
        init.abi_encode().into(),
    )
    .await
    .map_err(failed("Portal proxy"))?
    .address();

    Ok(Deployment {
        system_config,
        system_config_impl,
        output_oracle,
        output_oracle_impl,
        portal,
        portal_impl,
        dispute_game_factory,
        step_verifier,
        batch_inbox: config.batch_inbox,
        proxy_admin: config.admin,
        genesis_l2_timestamp,
        deployed_at_block: provider.get_block_number().await?,
    })
}
