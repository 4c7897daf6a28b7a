// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./Test.sol";
import {MockDisputeGameFactory} from "./Mocks.sol";
import {Proxy} from "../../src/proxy/Proxy.sol";
import {SystemConfig, SystemConfigInit} from "../../src/SystemConfig.sol";
import {OutputOracle, OutputOracleInit} from "../../src/OutputOracle.sol";
import {Portal} from "../../src/Portal.sol";
import {Hashing} from "../../src/lib/Hashing.sol";
import {OutputRootProof, WithdrawalTx} from "../../src/lib/Types.sol";

/// @notice Deploys the settlement contracts behind proxies, as the deploy script does, with a
///         mock dispute game factory, and offers helpers shared by the test suites.
abstract contract SettlementSetup is Test {
    address internal admin = address(0xAD);
    address internal owner = address(0x0E);
    address internal batcher = address(0xBA);
    address internal batchInbox = address(0xFf00000000000000000000000000000000000901);
    address internal proposer = address(0x9909);
    address internal guardian = address(0x6A);
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);

    uint256 internal constant INTERVAL = 10;
    uint256 internal constant BLOCK_TIME_MS = 1000;
    uint256 internal constant WINDOW = 7 days;
    uint256 internal constant PROPOSAL_BOND = 1 ether;
    uint256 internal constant CHALLENGE_BOND = 0.5 ether;
    uint256 internal genesisTime;

    SystemConfig internal config;
    OutputOracle internal oracle;
    Portal internal portal;
    MockDisputeGameFactory internal factory;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        genesisTime = block.timestamp;
        factory = new MockDisputeGameFactory();

        SystemConfigInit memory ci = SystemConfigInit({
            owner: owner,
            batcher: batcher,
            batchInbox: batchInbox,
            proposer: proposer,
            challenger: address(0),
            guardian: guardian,
            gasLimit: 30_000_000,
            eip1559Elasticity: 2,
            eip1559Denominator: 50,
            l1BaseFeeScalar: 1_368,
            l1BlobBaseFeeScalar: 810_949
        });
        config = SystemConfig(
            address(new Proxy(admin, address(new SystemConfig()), abi.encodeCall(SystemConfig.initialize, (ci))))
        );

        OutputOracleInit memory oi = OutputOracleInit({
            systemConfig: address(config),
            disputeGameFactory: address(factory),
            proposalInterval: INTERVAL,
            l2BlockTimeMs: BLOCK_TIME_MS,
            genesisL2Timestamp: genesisTime,
            startingBlockNumber: 0,
            startingOutputRoot: keccak256("genesis"),
            challengeWindow: WINDOW,
            proposalBond: PROPOSAL_BOND,
            challengeBond: CHALLENGE_BOND
        });
        oracle = OutputOracle(
            address(new Proxy(admin, address(new OutputOracle()), abi.encodeCall(OutputOracle.initialize, (oi))))
        );
        portal = Portal(
            payable(address(
                    new Proxy(
                        admin,
                        address(new Portal()),
                        abi.encodeCall(Portal.initialize, (address(config), address(oracle)))
                    )
                ))
        );
        vm.deal(proposer, 1_000 ether);
        vm.deal(alice, 1_000 ether);
        vm.deal(bob, 1_000 ether);
    }

    /// @dev Makes the next proposal (moving time forward so its block is in the past).
    function _propose(bytes32 root) internal returns (uint256 index, uint256 l2Block) {
        l2Block = oracle.nextBlockNumber();
        uint256 ts = oracle.computeL2Timestamp(l2Block);
        if (block.timestamp < ts) vm.warp(ts);
        index = oracle.outputCount();
        vm.prank(proposer);
        oracle.propose{value: PROPOSAL_BOND}(l2Block, root);
    }

    /// @dev A one-leaf storage trie holding `sentMessages[hash] = 1` and its (one-node) proof.
    function _singleLeafProof(bytes32 withdrawalHash) internal pure returns (bytes32 root, bytes[] memory proof) {
        bytes32 key = keccak256(abi.encode(Hashing.sentMessageSlot(withdrawalHash)));
        // leaf = rlp([hexPrefix(0x20 ‖ key) (33 bytes), rlp(1) = 0x01])
        bytes memory leaf = abi.encodePacked(bytes1(0xe3), bytes1(0xa1), bytes1(0x20), key, bytes1(0x01));
        proof = new bytes[](1);
        proof[0] = leaf;
        root = keccak256(leaf);
    }

    /// @dev An output root proof around a message passer storage root.
    function _outputProof(bytes32 storageRoot) internal pure returns (OutputRootProof memory p) {
        p = OutputRootProof({
            version: bytes32(0),
            stateRoot: keccak256("state"),
            messagePasserStorageRoot: storageRoot,
            blockHash: keccak256("block")
        });
    }

    function _withdrawal(uint256 nonce, address target, uint256 value, bytes memory data)
        internal
        view
        returns (WithdrawalTx memory)
    {
        return WithdrawalTx({nonce: nonce, sender: alice, target: target, value: value, gasLimit: 100_000, data: data});
    }
}
