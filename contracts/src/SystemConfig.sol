// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Initializable} from "./lib/Initializable.sol";

/// @notice Initial values of a `SystemConfig` (one struct so deploy tooling passes them by name).
struct SystemConfigInit {
    address owner;
    address batcher;
    address batchInbox;
    address proposer;
    address challenger;
    address guardian;
    uint64 gasLimit;
    uint32 eip1559Elasticity;
    uint32 eip1559Denominator;
    uint32 l1BaseFeeScalar;
    uint32 l1BlobBaseFeeScalar;
}

/// @title SystemConfig
/// @notice The rollup's operational parameters on L1: who may post batches and proposals, where
///         batches go, and the L2 gas and fee parameters. Derivation replays this contract's events
///         (from `startBlock` on) to know, at every L1 block, which values were in force.
/// @dev Roles and why they are separate keys:
///      - `owner` changes parameters and roles here (a multisig in production);
///      - `batcher` is the only sender whose transactions to `batchInbox` derivation accepts;
///      - `proposer` is the only account `OutputOracle.propose` accepts;
///      - `challenger` may challenge proposals; the zero address means anyone may (permissionless);
///      - `guardian` may pause withdrawals in the `Portal` (deposits are never paused).
///      The upgrade key is none of these: it is the `Proxy` admin.
///
///      Batch inbox: `batchInbox` is an EOA-style address with no code (by convention an address
///      nobody holds a key for, e.g. 0xff...<chain id>). Batches are plain transactions to it —
///      calldata frames (version byte 0x00), blob transactions, or Celestia pointers (0x01 ‖
///      height:u64 ‖ commitment:32) — and derivation keeps only those whose sender (recovered from
///      the signature) is the `batcher` in force at that L1 block. No contract is needed because no
///      L1 execution is needed: the data only has to be on L1. It is set once at initialization
///      (moving it would make derivation ambiguous).
///
///      Storage layout (this contract's own sequential slots; the initializer version lives in a
///      namespaced slot, see `Initializable`):
///        slot 0: owner (address)
///        slot 1: pendingOwner (address)
///        slot 2: batcher (address)
///        slot 3: batchInbox (address)
///        slot 4: proposer (address)
///        slot 5: challenger (address)
///        slot 6: guardian (address, bytes 0-19) | paused (bool, byte 20) | gasLimit (uint64, bytes 21-28)
///        slot 7: eip1559Elasticity (uint32, bytes 0-3) | eip1559Denominator (4-7)
///                | l1BaseFeeScalar (8-11) | l1BlobBaseFeeScalar (12-15)
///        slot 8: startBlock (uint256)
///      (byte offsets count from the low-order end of the slot, as solc packs them)
///      New fields are only ever appended.
contract SystemConfig is Initializable {
    /// @notice Smallest L2 block gas limit accepted (room for deposits plus user transactions).
    uint64 public constant MIN_GAS_LIMIT = 8_000_000;
    /// @notice Largest L2 block gas limit accepted (bounds proving and execution cost).
    uint64 public constant MAX_GAS_LIMIT = 500_000_000;
    /// @notice EIP-1559 elasticity bounds (design §2).
    uint32 public constant MIN_ELASTICITY = 2;
    uint32 public constant MAX_ELASTICITY = 6;
    /// @notice EIP-1559 base fee change denominator bounds (design §2).
    uint32 public constant MIN_DENOMINATOR = 50;
    uint32 public constant MAX_DENOMINATOR = 250;

    /// @notice Changes parameters and roles.
    address public owner;
    /// @notice Proposed new owner; becomes owner when it calls `acceptOwnership`.
    address public pendingOwner;
    /// @notice The only sender derivation accepts batch data from.
    address public batcher;
    /// @notice The address batches are sent to (no code; see contract docs).
    address public batchInbox;
    /// @notice The only account allowed to propose output roots.
    address public proposer;
    /// @notice The only account allowed to challenge proposals; zero = anyone.
    address public challenger;
    /// @notice May pause and unpause withdrawals.
    address public guardian;
    /// @notice Whether withdrawals (prove and finalize) are paused.
    bool public paused;
    /// @notice Gas limit of every L2 block.
    uint64 public gasLimit;
    /// @notice EIP-1559 elasticity multiplier of the L2 (gas limit / gas target).
    uint32 public eip1559Elasticity;
    /// @notice EIP-1559 base fee max change denominator of the L2.
    uint32 public eip1559Denominator;
    /// @notice L1 data fee scalar applied to the L1 base fee (parts per million).
    uint32 public l1BaseFeeScalar;
    /// @notice L1 data fee scalar applied to the L1 blob base fee (parts per million).
    uint32 public l1BlobBaseFeeScalar;
    /// @notice L1 block in which this config was initialized: derivation scans events from here.
    uint256 public startBlock;

    /// @notice Ownership transfer proposed.
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    /// @notice Ownership changed (also emitted at initialization, from the zero address).
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// @notice The batcher changed; derivation accepts batches from `batcher` from this L1 block on.
    event BatcherUpdated(address indexed batcher);
    /// @notice The batch inbox was set (initialization only).
    event BatchInboxSet(address indexed batchInbox);
    /// @notice The proposer changed.
    event ProposerUpdated(address indexed proposer);
    /// @notice The challenger changed (zero = permissionless).
    event ChallengerUpdated(address indexed challenger);
    /// @notice The guardian changed.
    event GuardianUpdated(address indexed guardian);
    /// @notice Withdrawals were paused (true) or unpaused (false) by the guardian.
    event PausedUpdated(bool paused);
    /// @notice The L2 block gas limit changed.
    event GasLimitUpdated(uint64 gasLimit);
    /// @notice The L2 EIP-1559 parameters changed.
    event Eip1559ParamsUpdated(uint32 elasticity, uint32 denominator);
    /// @notice The L1 data fee scalars changed.
    event L1FeeScalarsUpdated(uint32 baseFeeScalar, uint32 blobBaseFeeScalar);

    /// @notice The caller is not the owner.
    error NotOwner();
    /// @notice The caller is not the pending owner.
    error NotPendingOwner();
    /// @notice The caller is not the guardian.
    error NotGuardian();
    /// @notice A role that must always be held was set to the zero address.
    error ZeroAddress();
    /// @notice The gas limit is outside [MIN_GAS_LIMIT, MAX_GAS_LIMIT].
    error GasLimitOutOfRange(uint64 gasLimit);
    /// @notice The EIP-1559 elasticity is outside [2, 6].
    error ElasticityOutOfRange(uint32 elasticity);
    /// @notice The EIP-1559 denominator is outside [50, 250].
    error DenominatorOutOfRange(uint32 denominator);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    /// @notice The implementation itself can never be initialized; only proxies can.
    constructor() {
        _disableInitializers();
    }

    /// @notice Sets every parameter and emits one event per value, so derivation can read the
    ///         initial configuration from logs exactly like later changes.
    function initialize(SystemConfigInit calldata init) external initializer {
        if (init.owner == address(0) || init.batchInbox == address(0)) revert ZeroAddress();
        owner = init.owner;
        emit OwnershipTransferred(address(0), init.owner);
        batchInbox = init.batchInbox;
        emit BatchInboxSet(init.batchInbox);
        startBlock = block.number;
        _setBatcher(init.batcher);
        _setProposer(init.proposer);
        _setChallenger(init.challenger);
        _setGuardian(init.guardian);
        _setGasLimit(init.gasLimit);
        _setEip1559Params(init.eip1559Elasticity, init.eip1559Denominator);
        _setL1FeeScalars(init.l1BaseFeeScalar, init.l1BlobBaseFeeScalar);
    }

    /// @notice Starts handing ownership to `newOwner` (two steps, so a typo cannot lose it).
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    /// @notice Completes an ownership transfer; callable only by the pending owner.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner || msg.sender == address(0)) revert NotPendingOwner();
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
    }

    /// @notice Replaces the batcher (e.g. key rotation).
    function setBatcher(address newBatcher) external onlyOwner {
        _setBatcher(newBatcher);
    }

    /// @notice Replaces the proposer.
    function setProposer(address newProposer) external onlyOwner {
        _setProposer(newProposer);
    }

    /// @notice Replaces the challenger; zero makes challenging permissionless.
    function setChallenger(address newChallenger) external onlyOwner {
        _setChallenger(newChallenger);
    }

    /// @notice Replaces the guardian; zero leaves nobody able to pause.
    function setGuardian(address newGuardian) external onlyOwner {
        _setGuardian(newGuardian);
    }

    /// @notice Changes the L2 block gas limit.
    function setGasLimit(uint64 newGasLimit) external onlyOwner {
        _setGasLimit(newGasLimit);
    }

    /// @notice Changes the L2 EIP-1559 parameters.
    function setEip1559Params(uint32 elasticity, uint32 denominator) external onlyOwner {
        _setEip1559Params(elasticity, denominator);
    }

    /// @notice Changes the L1 data fee scalars.
    function setL1FeeScalars(uint32 baseFeeScalar, uint32 blobBaseFeeScalar) external onlyOwner {
        _setL1FeeScalars(baseFeeScalar, blobBaseFeeScalar);
    }

    /// @notice Pauses or unpauses withdrawals; only the guardian (an emergency brake that the
    ///         owner cannot pull by itself, and that never blocks deposits).
    function setPaused(bool paused_) external {
        if (msg.sender != guardian) revert NotGuardian();
        paused = paused_;
        emit PausedUpdated(paused_);
    }

    function _setBatcher(address newBatcher) private {
        if (newBatcher == address(0)) revert ZeroAddress();
        batcher = newBatcher;
        emit BatcherUpdated(newBatcher);
    }

    function _setProposer(address newProposer) private {
        if (newProposer == address(0)) revert ZeroAddress();
        proposer = newProposer;
        emit ProposerUpdated(newProposer);
    }

    function _setChallenger(address newChallenger) private {
        challenger = newChallenger;
        emit ChallengerUpdated(newChallenger);
    }

    function _setGuardian(address newGuardian) private {
        guardian = newGuardian;
        emit GuardianUpdated(newGuardian);
    }

    function _setGasLimit(uint64 newGasLimit) private {
        if (newGasLimit < MIN_GAS_LIMIT || newGasLimit > MAX_GAS_LIMIT) revert GasLimitOutOfRange(newGasLimit);
        gasLimit = newGasLimit;
        emit GasLimitUpdated(newGasLimit);
    }

    function _setEip1559Params(uint32 elasticity, uint32 denominator) private {
        if (elasticity < MIN_ELASTICITY || elasticity > MAX_ELASTICITY) revert ElasticityOutOfRange(elasticity);
        if (denominator < MIN_DENOMINATOR || denominator > MAX_DENOMINATOR) revert DenominatorOutOfRange(denominator);
        eip1559Elasticity = elasticity;
        eip1559Denominator = denominator;
        emit Eip1559ParamsUpdated(elasticity, denominator);
    }

    function _setL1FeeScalars(uint32 baseFeeScalar, uint32 blobBaseFeeScalar) private {
        l1BaseFeeScalar = baseFeeScalar;
        l1BlobBaseFeeScalar = blobBaseFeeScalar;
        emit L1FeeScalarsUpdated(baseFeeScalar, blobBaseFeeScalar);
    }
}
