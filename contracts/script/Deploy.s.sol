// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {vm} from "../test/utils/Vm.sol";
import {Proxy} from "../src/proxy/Proxy.sol";
import {SystemConfig, SystemConfigInit} from "../src/SystemConfig.sol";
import {OutputOracle, OutputOracleInit} from "../src/OutputOracle.sol";
import {Portal} from "../src/Portal.sol";

/// @title Deploy
/// @notice Deploys SystemConfig, OutputOracle and Portal, each as an implementation behind a
///         `Proxy` initialized in its constructor, from a JSON config, and writes the addresses
///         to a JSON file that the node's configuration reads.
/// @dev Environment:
///        DEPLOY_CONFIG  config file (default deploy/devnet.json; see that file for every key)
///        DEPLOY_OUT     output file (default deployments/devnet.json; must be under deployments/)
///      Run with: forge script script/Deploy.s.sol --rpc-url URL --broadcast
///                  (--private-key K | --unlocked --sender ADDR) --offline --use tools/solc-wrapper
///      The deployer key only pays for gas: it gets no role. Roles come from the config, and the
///      proxies' upgrade key (`admin`) is separate from the operator keys.
///      `genesisL2Timestamp` = 0 in the config means "the L1 timestamp of the deployment block".
contract Deploy {
    struct Deployed {
        address systemConfig;
        address systemConfigImpl;
        address outputOracle;
        address outputOracleImpl;
        address portal;
        address portalImpl;
    }

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

        OutputOracleInit memory oi = OutputOracleInit({
            systemConfig: d.systemConfig,
            disputeGameFactory: vm.parseJsonAddress(cfg, ".disputeGameFactory"),
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
        vm.serializeAddress(o, "batchInbox", ci.batchInbox);
        vm.serializeAddress(o, "proxyAdmin", admin);
        // The L1 block derivation starts from is SystemConfig.startBlock() (set in the deployment
        // transaction; a script's simulated block number is not the block it lands in).
        string memory json = vm.serializeUint(o, "genesisL2Timestamp", genesisL2Timestamp);
        vm.writeJson(json, outPath);
    }
}
