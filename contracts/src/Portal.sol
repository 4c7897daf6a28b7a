// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {AddressAliasing} from "./lib/AddressAliasing.sol";
import {Hashing} from "./lib/Hashing.sol";
import {Initializable} from "./lib/Initializable.sol";
import {ReentrancyGuard} from "./lib/ReentrancyGuard.sol";
import {SecureMerkleTrie} from "./lib/SecureMerkleTrie.sol";
import {OutputRootProof, WithdrawalTx} from "./lib/Types.sol";
import {OutputOracle} from "./OutputOracle.sol";
import {SystemConfig} from "./SystemConfig.sol";

/// @title Portal
/// @notice The bridge between L1 and the rollup: deposits (L1 -> L2 transactions, optionally
///         minting ETH on L2) and withdrawals (L2 -> L1 calls, proven against output roots).
///         It holds all ETH bridged to L2.
/// @dev Deposits. `depositTransaction` only emits `TransactionDeposited`; derivation turns each
///      event into a deposit transaction (type 0x7E) in the first L2 block of the L1 block's epoch.
///      Encoding of `opaqueData` (version 0), tightly packed (abi.encodePacked), 73 + data bytes:
///          offset  size  field
///               0    32  mint        uint256  wei minted to `from` on L2 (= msg.value on L1)
///              32    32  value       uint256  wei sent from `from` to `to` on L2
///              64     8  gasLimit    uint64   L2 gas limit, big-endian
///              72     1  isCreation  bool     0x01: contract creation (then `to` = 0), else 0x00
///              73     n  data        bytes    calldata, or init code for a creation
///      `from` (topic 1) is msg.sender, aliased (`AddressAliasing.applyAlias`: + 0x1111...1111
///      mod 2^160) when msg.sender is not tx.origin, i.e. when a contract deposits; `to` is
///      topic 2 and the version topic 3. A deposit is identified on L2 by (L1 block hash, log index).
///
///      Withdrawals. An L2 account calls `L2ToL1MessagePasser.initiateWithdrawal`, which sets
///      `sentMessages[withdrawalHash] = true` (mapping at slot 0). Then, on L1:
///        1. `proveWithdrawal` checks an output root preimage against a live proposal and a storage
///           proof that the slot keccak256(withdrawalHash ‖ 0) holds 1 in the message passer's
///           storage root; it records (outputRoot, index, time).
///        2. `finalizeWithdrawal`, once the proof is `challengeWindow` old AND the proposal is
///           final AND it is still the proposal proven against, calls `target` with `value` and
///           `data` and at least `gasLimit` gas, with `l2Sender()` set to the L2 sender.
///      A withdrawal whose call reverts is not finalized (the whole transaction reverts), so it
///      can be retried; a withdrawal is executed at most once (`finalizedWithdrawals`).
///      Withdrawal hash: keccak256(abi.encode(nonce, sender, target, value, gasLimit, data)).
///
///      Storage layout (sequential slots; the initializer version, the reentrancy lock and the
///      L2 sender are in a namespaced slot / transient storage):
///        slot 0: systemConfig
///        slot 1: oracle
///        slot 2: provenWithdrawals   (mapping bytes32 => ProvenWithdrawal, 2 slots per entry)
///        slot 3: finalizedWithdrawals (mapping bytes32 => bool)
contract Portal is Initializable, ReentrancyGuard {
    /// @notice A recorded withdrawal proof.
    /// @param outputRoot The output root it was proven against.
    /// @param provenAt L1 timestamp of the proof (0 = never proven).
    /// @param outputIndex The proposal index it was proven against.
    struct ProvenWithdrawal {
        bytes32 outputRoot;
        uint64 provenAt;
        uint192 outputIndex;
    }

    /// @notice Version of the `TransactionDeposited` encoding (topic 3).
    uint256 public constant DEPOSIT_VERSION = 0;
    /// @notice L2 gas of deposits made by plain ETH transfers to the portal.
    uint64 public constant RECEIVE_DEFAULT_GAS_LIMIT = 100_000;
    /// @notice Largest deposit calldata accepted (bytes).
    uint256 public constant MAX_DEPOSIT_DATA_SIZE = 120_000;
    /// @notice Minimum deposit gas: a transfer's intrinsic gas ...
    uint64 public constant DEPOSIT_BASE_GAS = 21_000;
    /// @notice ... plus this much per data byte (above calldata cost, to price L2 processing).
    uint64 public constant DEPOSIT_GAS_PER_BYTE = 40;
    /// @notice Gas kept back by `finalizeWithdrawal` beyond the forwarded `gasLimit`, to pay the
    ///         call's own costs (cold access, value transfer, new account) and the bookkeeping after it.
    uint256 public constant FINALIZE_GAS_RESERVE = 60_000;

    /// @notice Roles, pause flag and the L2 gas limit.
    SystemConfig public systemConfig;
    /// @notice Where output roots are proposed and finalized.
    OutputOracle public oracle;
    /// @notice Proofs recorded by `proveWithdrawal`, by withdrawal hash.
    mapping(bytes32 => ProvenWithdrawal) public provenWithdrawals;
    /// @notice Withdrawals already executed, by withdrawal hash.
    mapping(bytes32 => bool) public finalizedWithdrawals;
    /// @dev The L2 sender of the withdrawal being executed (zero outside of one).
    address private transient _l2Sender;

    /// @notice A deposit; see the contract docs for the exact `opaqueData` encoding.
    event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData);
    /// @notice A withdrawal was proven against proposal `outputIndex`.
    event WithdrawalProven(
        bytes32 indexed withdrawalHash, address indexed from, address indexed to, uint256 outputIndex
    );
    /// @notice A withdrawal was executed.
    event WithdrawalFinalized(bytes32 indexed withdrawalHash);

    /// @notice Withdrawals are paused by the guardian.
    error Paused();
    /// @notice A creation deposit must have `to` = 0.
    error CreationWithTarget();
    /// @notice Deposit data longer than `MAX_DEPOSIT_DATA_SIZE`.
    error DepositDataTooLarge(uint256 size);
    /// @notice Deposit gas limit below `minimumGasLimit(data.length)`.
    error GasLimitTooLow(uint64 gasLimit, uint256 minimum);
    /// @notice Deposit gas limit above the L2 block gas limit.
    error GasLimitTooHigh(uint64 gasLimit, uint64 maximum);
    /// @notice No proposal at this index.
    error OutputNotFound(uint256 index);
    /// @notice The output root proof has an unknown version.
    error UnsupportedOutputVersion(bytes32 version);
    /// @notice The output root preimage does not hash to the proposal's output root.
    error InvalidOutputRootProof();
    /// @notice The storage proof does not show `sentMessages[withdrawalHash] = true`.
    error InvalidWithdrawalProof();
    /// @notice Withdrawals may not call the portal itself.
    error TargetIsPortal();
    /// @notice Already proven against the same, still live, proposal.
    error WithdrawalAlreadyProven(bytes32 withdrawalHash);
    /// @notice Already executed.
    error WithdrawalAlreadyFinalized(bytes32 withdrawalHash);
    /// @notice Never proven.
    error WithdrawalNotProven(bytes32 withdrawalHash);
    /// @notice The proof has not waited the challenge window yet.
    error ProofNotMatured(uint256 readyAt);
    /// @notice The proposal proven against was deleted or replaced; prove again.
    error ProvenOutputChanged(uint256 outputIndex);
    /// @notice The proposal proven against is not final yet.
    error OutputNotFinalized(uint256 outputIndex);
    /// @notice Not enough gas left to give the call its `gasLimit`.
    error InsufficientGas();
    /// @notice The withdrawal's call reverted (nothing changed; it can be retried).
    error WithdrawalCallFailed(bytes32 withdrawalHash);
    /// @notice `l2Sender()` read outside of a withdrawal.
    error NotInWithdrawal();
    /// @notice A constructor/initializer address is zero.
    error ZeroAddress();

    modifier whenNotPaused() {
        if (systemConfig.paused()) revert Paused();
        _;
    }

    /// @notice The implementation itself can never be initialized; only proxies can.
    constructor() {
        _disableInitializers();
    }

    /// @notice Wires the portal to its SystemConfig and OutputOracle.
    function initialize(address systemConfig_, address oracle_) external initializer {
        if (systemConfig_ == address(0) || oracle_ == address(0)) revert ZeroAddress();
        systemConfig = SystemConfig(systemConfig_);
        oracle = OutputOracle(oracle_);
    }

    /// @notice A plain ETH transfer deposits it to the sender's (aliased if a contract) L2 account.
    receive() external payable {
        _deposit(msg.sender, msg.value, RECEIVE_DEFAULT_GAS_LIMIT, false, "");
    }

    // ------------------------------------------------------------------ deposits

    /// @notice Sends a transaction to L2: mints `msg.value` to the sender's L2 account, then
    ///         executes a call (or creation) from it with `value` and `gasLimit`.
    /// @param to L2 recipient; must be zero for a creation.
    /// @param value Wei transferred on L2 (from the sender's L2 balance after minting).
    /// @param gasLimit L2 gas; at least `minimumGasLimit(data.length)`, at most the L2 block gas limit.
    /// @param isCreation Whether `data` is init code of a contract to create.
    /// @param data Calldata or init code, at most `MAX_DEPOSIT_DATA_SIZE` bytes.
    function depositTransaction(address to, uint256 value, uint64 gasLimit, bool isCreation, bytes calldata data)
        external
        payable
    {
        _deposit(to, value, gasLimit, isCreation, data);
    }

    /// @notice Smallest gas limit a deposit with `dataLength` bytes of data may ask for.
    function minimumGasLimit(uint256 dataLength) public pure returns (uint256) {
        return DEPOSIT_BASE_GAS + dataLength * DEPOSIT_GAS_PER_BYTE;
    }

    // ------------------------------------------------------------------ withdrawals

    /// @notice Records that `withdrawal` is in the L2 state committed to by proposal `outputIndex`.
    /// @param withdrawal The withdrawal as sent on L2.
    /// @param outputIndex A live proposal in the oracle (final or not).
    /// @param outputRootProof The proposal's output root preimage.
    /// @param storageProof `eth_getProof` storage proof (of the message passer, at the proposal's
    ///        L2 block) of slot keccak256(withdrawalHash ‖ 0), which must hold 1.
    function proveWithdrawal(
        WithdrawalTx calldata withdrawal,
        uint256 outputIndex,
        OutputRootProof calldata outputRootProof,
        bytes[] calldata storageProof
    ) external whenNotPaused nonReentrant {
        if (withdrawal.target == address(this)) revert TargetIsPortal();
        bytes32 outputRoot = _liveOutputRoot(outputIndex);
        if (outputRootProof.version != Hashing.OUTPUT_VERSION_V0) {
            revert UnsupportedOutputVersion(outputRootProof.version);
        }
        if (Hashing.outputRoot(outputRootProof) != outputRoot) revert InvalidOutputRootProof();

        bytes32 whash = Hashing.withdrawalHash(withdrawal);
        if (finalizedWithdrawals[whash]) revert WithdrawalAlreadyFinalized(whash);
        ProvenWithdrawal memory previous = provenWithdrawals[whash];
        // A proof may be replaced only if the proposal it used is gone or changed: otherwise
        // anyone could restart the waiting time of someone else's withdrawal.
        if (previous.provenAt != 0 && _isLive(previous.outputIndex, previous.outputRoot)) {
            revert WithdrawalAlreadyProven(whash);
        }

        (bool exists, bytes memory value) = SecureMerkleTrie.get(
            abi.encodePacked(Hashing.sentMessageSlot(whash)), storageProof, outputRootProof.messagePasserStorageRoot
        );
        // RLP of the stored value `true` (1) is the single byte 0x01.
        if (!exists || value.length != 1 || value[0] != 0x01) revert InvalidWithdrawalProof();

        provenWithdrawals[whash] = ProvenWithdrawal({
            outputRoot: outputRoot,
            provenAt: uint64(block.timestamp),
            // forge-lint: disable-next-line(unsafe-typecast) -- below outputCount(), far below 2^192
            outputIndex: uint192(outputIndex)
        });
        emit WithdrawalProven(whash, withdrawal.sender, withdrawal.target, outputIndex);
    }

    /// @notice Executes a proven withdrawal: calls `target` with `value`, `data` and `gasLimit` gas.
    /// @dev Requires the proof to be `challengeWindow` old, the proposal to be final and unchanged,
    ///      and enough gas to forward `gasLimit`. Marks the withdrawal finalized before the call
    ///      (checks-effects-interactions, plus a reentrancy lock); if the call fails, everything
    ///      reverts, so no ETH moves and the withdrawal can be retried.
    function finalizeWithdrawal(WithdrawalTx calldata withdrawal) external whenNotPaused nonReentrant {
        bytes32 whash = Hashing.withdrawalHash(withdrawal);
        if (finalizedWithdrawals[whash]) revert WithdrawalAlreadyFinalized(whash);
        ProvenWithdrawal memory proven = provenWithdrawals[whash];
        if (proven.provenAt == 0) revert WithdrawalNotProven(whash);
        uint256 readyAt = uint256(proven.provenAt) + oracle.challengeWindow();
        if (block.timestamp < readyAt) revert ProofNotMatured(readyAt);
        if (!_isLive(proven.outputIndex, proven.outputRoot)) revert ProvenOutputChanged(proven.outputIndex);
        if (!oracle.isFinalized(proven.outputIndex)) revert OutputNotFinalized(proven.outputIndex);

        finalizedWithdrawals[whash] = true;
        // The call gets at most 63/64 of what is left, so that much more must be available.
        if (
            withdrawal.gasLimit > type(uint64).max || gasleft() < (withdrawal.gasLimit * 64) / 63 + FINALIZE_GAS_RESERVE
        ) {
            revert InsufficientGas();
        }
        _l2Sender = withdrawal.sender;
        bool ok = _call(withdrawal.target, withdrawal.gasLimit, withdrawal.value, withdrawal.data);
        _l2Sender = address(0);
        if (!ok) revert WithdrawalCallFailed(whash);
        emit WithdrawalFinalized(whash);
    }

    /// @notice The L2 sender of the withdrawal being executed; lets L1 contracts authenticate
    ///         messages from L2 contracts (check `msg.sender == portal` first).
    function l2Sender() external view returns (address sender) {
        sender = _l2Sender;
        if (sender == address(0)) revert NotInWithdrawal();
    }

    // ------------------------------------------------------------------ internals

    function _deposit(address to, uint256 value, uint64 gasLimit, bool isCreation, bytes memory data) private {
        if (isCreation && to != address(0)) revert CreationWithTarget();
        if (data.length > MAX_DEPOSIT_DATA_SIZE) revert DepositDataTooLarge(data.length);
        uint256 minimum = minimumGasLimit(data.length);
        if (gasLimit < minimum) revert GasLimitTooLow(gasLimit, minimum);
        uint64 maximum = systemConfig.gasLimit();
        if (gasLimit > maximum) revert GasLimitTooHigh(gasLimit, maximum);

        address from = msg.sender == tx.origin ? msg.sender : AddressAliasing.applyAlias(msg.sender);
        bytes memory opaqueData = abi.encodePacked(msg.value, value, gasLimit, isCreation, data);
        emit TransactionDeposited(from, to, DEPOSIT_VERSION, opaqueData);
    }

    /// @dev The output root of live proposal `index`, or `OutputNotFound`.
    function _liveOutputRoot(uint256 index) private view returns (bytes32 root) {
        root = oracle.outputRootAt(index);
        if (root == bytes32(0)) revert OutputNotFound(index);
    }

    /// @dev Whether proposal `index` still exists with output root `root` (never zero).
    function _isLive(uint256 index, bytes32 root) private view returns (bool) {
        return oracle.outputRootAt(index) == root;
    }

    /// @dev A call that does not copy return data (a malicious target cannot make us pay for it).
    function _call(address target, uint256 gasLimit, uint256 value, bytes calldata data) private returns (bool ok) {
        bytes memory payload = data;
        assembly ("memory-safe") {
            ok := call(gasLimit, target, value, add(payload, 0x20), mload(payload), 0, 0)
        }
    }
}
