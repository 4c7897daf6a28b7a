// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {vm} from "../test/utils/Vm.sol";
import {Proxy} from "../src/proxy/Proxy.sol";
import {SystemConfig, SystemConfigInit} from "../src/SystemConfig.sol";
import {OutputOracle, OutputOracleInit} from "../src/OutputOracle.sol";
import {Portal} from "../src/Portal.sol";
import {DisputeGameFactory} from "../src/DisputeGameFactory.sol";
import {IStepVerifier} from "../src/interfaces/IStepVerifier.sol";
import {EvmPrecompiles} from "../src/verifier/EvmPrecompiles.sol";
import {EvmInterpreter} from "../src/verifier/EvmInterpreter.sol";
import {EvmStepVerifier} from "../src/verifier/EvmStepVerifier.sol";

/// @title Deploy
/// @notice Deploys SystemConfig, OutputOracle and Portal, each as an implementation behind a
///         `Proxy` initialized in its constructor, and the DisputeGameFactory, from a JSON
///         config, and writes the addresses to a JSON file that the node's configuration reads.
/// @dev Environment:
///        DEPLOY_CONFIG  config file (default deploy/devnet.json; see that file for every key)
///        DEPLOY_OUT     output file (default deployments/devnet.json; must be under deployments/)
///      Run with: forge script script/Deploy.s.sol --rpc-url URL --broadcast
///                  (--private-key K | --unlocked --sender ADDR) --offline --use tools/solc-wrapper
///      The deployer key only pays for gas: it gets no role. Roles come from the config, and the
///      proxies' upgrade key (`admin`) is separate from the operator keys.
///      `genesisL2Timestamp` = 0 in the config means "the L1 timestamp of the deployment block".
///      Dispute games: with `disputeGameFactory` = 0 in the config, a `DisputeGameFactory` is
///      deployed for the oracle (clock `disputeClockSeconds`, chain id `l2ChainId`, verifier
///      `stepVerifier`) and the oracle is initialized with it. The factory must name the oracle
///      proxy, which is deployed after it, so that address is predicted from the deployer's nonce
///      (and checked). `stepVerifier` = 0 deploys the EVM step verifier (`EvmPrecompiles`,
///      `EvmInterpreter`, `EvmStepVerifier` crediting the L2 fee vault predeploys).
contract Deploy {
    /// @dev L2 predeploys the verifier credits fees to (`parallax_protocol::predeploys`).
    address internal constant BASE_FEE_VAULT = 0x4200000000000000000000000000000000000019;
    address internal constant L1_FEE_VAULT = 0x420000000000000000000000000000000000001A;

    struct Deployed {
        address systemConfig;
        address systemConfigImpl;
        address outputOracle;
        address outputOracleImpl;
        address portal;
        address portalImpl;
        address disputeGameFactory;
        address stepVerifier;
    }

    /// @notice The predicted oracle proxy address did not come true.
    error OracleAddressMismatch(address predicted, address deployed);

    function run() external returns (Deployed memory d) {
        string memory configPath = vm.envOr("DEPLOY_CONFIG", string("deploy/devnet.json"));
        string memory outPath = vm.envOr("DEPLOY_OUT", string("deployments/devnet.json"));
        string memory cfg = vm.readFile(configPath);
        address admin = vm.parseJsonAddress(cfg, ".admin");

        SystemConfigInit memory ci = SystemConfigInit({
            owner: vm.parseJsonAddress(cfg, ".owner"),
            batcher: vm.parseJsonAddress(cfg, ".batcher"),
            batchInbox: vm.parseJsonAddress(cfg, ".batchInbox"),
            proposer: vm.parseJsonAddress(cfg, ".proposer"),
            challenger: vm.parseJsonAddress(cfg, ".challenger"),
            guardian: vm.parseJsonAddress(cfg, ".guardian"),
            gasLimit: uint64(vm.parseJsonUint(cfg, ".gasLimit")),
            eip1559Elasticity: uint32(vm.parseJsonUint(cfg, ".eip1559Elasticity")),
            eip1559Denominator: uint32(vm.parseJsonUint(cfg, ".eip1559Denominator")),
            l1BaseFeeScalar: uint32(vm.parseJsonUint(cfg, ".l1BaseFeeScalar")),
            l1BlobBaseFeeScalar: uint32(vm.parseJsonUint(cfg, ".l1BlobBaseFeeScalar"))
        });
        uint256 genesisL2Timestamp = vm.parseJsonUint(cfg, ".genesisL2Timestamp");
        if (genesisL2Timestamp == 0) genesisL2Timestamp = block.timestamp;

        vm.startBroadcast();
        d.systemConfigImpl = address(new SystemConfig());
        d.systemConfig = address(new Proxy(admin, d.systemConfigImpl, abi.encodeCall(SystemConfig.initialize, (ci))));

        d.disputeGameFactory = vm.parseJsonAddress(cfg, ".disputeGameFactory");
        address predictedOracle;
        if (d.disputeGameFactory == address(0)) {
            d.stepVerifier = vm.parseJsonAddress(cfg, ".stepVerifier");
            if (d.stepVerifier == address(0)) {
                // The EVM one-step verifier: three contracts, each under EIP-170.
                EvmInterpreter interpreter = new EvmInterpreter(new EvmPrecompiles());
                d.stepVerifier = address(
                    new EvmStepVerifier(interpreter, vm.parseJsonUint(cfg, ".l2ChainId"), BASE_FEE_VAULT, L1_FEE_VAULT)
                );
            }
            // The factory is deployed at the current nonce, then the oracle's implementation,
            // then its proxy.
            predictedOracle = _createAddress(msg.sender, vm.getNonce(msg.sender) + 2);
            d.disputeGameFactory = address(
                new DisputeGameFactory(
                    predictedOracle,
                    IStepVerifier(d.stepVerifier),
                    vm.parseJsonUint(cfg, ".disputeClockSeconds"),
                    vm.parseJsonUint(cfg, ".l2ChainId")
                )
            );
        }

        OutputOracleInit memory oi = OutputOracleInit({
            systemConfig: d.systemConfig,
            disputeGameFactory: d.disputeGameFactory,
            proposalInterval: vm.parseJsonUint(cfg, ".proposalInterval"),
            l2BlockTimeMs: vm.parseJsonUint(cfg, ".l2BlockTimeMs"),
            genesisL2Timestamp: genesisL2Timestamp,
            startingBlockNumber: vm.parseJsonUint(cfg, ".startingBlockNumber"),
            startingOutputRoot: vm.parseJsonBytes32(cfg, ".startingOutputRoot"),
            challengeWindow: vm.parseJsonUint(cfg, ".challengeWindow"),
            proposalBond: vm.parseJsonUint(cfg, ".proposalBond"),
            challengeBond: vm.parseJsonUint(cfg, ".challengeBond")
        });
        d.outputOracleImpl = address(new OutputOracle());
        d.outputOracle = address(new Proxy(admin, d.outputOracleImpl, abi.encodeCall(OutputOracle.initialize, (oi))));
        if (predictedOracle != address(0) && predictedOracle != d.outputOracle) {
            revert OracleAddressMismatch(predictedOracle, d.outputOracle);
        }

        d.portalImpl = address(new Portal());
        d.portal = address(
            new Proxy(admin, d.portalImpl, abi.encodeCall(Portal.initialize, (d.systemConfig, d.outputOracle)))
        );
        vm.stopBroadcast();

        string memory o = "deployment";
        vm.serializeAddress(o, "systemConfig", d.systemConfig);
        vm.serializeAddress(o, "systemConfigImpl", d.systemConfigImpl);
        vm.serializeAddress(o, "outputOracle", d.outputOracle);
        vm.serializeAddress(o, "outputOracleImpl", d.outputOracleImpl);
        vm.serializeAddress(o, "portal", d.portal);
        vm.serializeAddress(o, "portalImpl", d.portalImpl);
        vm.serializeAddress(o, "disputeGameFactory", d.disputeGameFactory);
        vm.serializeAddress(o, "stepVerifier", d.stepVerifier);
        vm.serializeAddress(o, "batchInbox", ci.batchInbox);
        vm.serializeAddress(o, "proxyAdmin", admin);
        // The L1 block derivation starts from is SystemConfig.startBlock() (set in the deployment
        // transaction; a script's simulated block number is not the block it lands in).
        string memory json = vm.serializeUint(o, "genesisL2Timestamp", genesisL2Timestamp);
        vm.writeJson(json, outPath);
    }

    /// @dev The address `deployer`'s CREATE at `nonce` gets: keccak256(rlp([deployer, nonce]))[12:].
    function _createAddress(address deployer, uint256 nonce) internal pure returns (address) {
        bytes memory n;
        if (nonce == 0) {
            n = hex"80";
        } else if (nonce < 0x80) {
            // forge-lint: disable-next-line(unsafe-typecast) -- bytes of a nonce, masked by the shift
            n = abi.encodePacked(uint8(nonce));
        } else {
            uint256 len;
            for (uint256 t = nonce; t != 0; t >>= 8) {
                ++len;
            }
            // forge-lint: disable-next-line(unsafe-typecast) -- bytes of a nonce, masked by the shift
            n = abi.encodePacked(uint8(0x80 + len));
            for (uint256 k = len; k > 0; --k) {
                // forge-lint: disable-next-line(unsafe-typecast) -- bytes of a nonce, masked by the shift
                n = abi.encodePacked(n, uint8(nonce >> (8 * (k - 1))));
            }
        }
        bytes memory list = abi.encodePacked(bytes1(0x94), deployer, n);
        return address(uint160(uint256(keccak256(abi.encodePacked(uint8(0xc0 + list.length), list)))));
    }
}
