// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {GameStatus, IDisputeGame} from "./interfaces/IDisputeGame.sol";
import {GameParams} from "./interfaces/IDisputeGameFactory.sol";
import {BlockContext, IStepVerifier} from "./interfaces/IStepVerifier.sol";
import {RLPItem, RLPReader} from "./lib/RLPReader.sol";
import {RLPWriter} from "./lib/RLPWriter.sol";
import {MerkleTrie} from "./lib/MerkleTrie.sol";
import {Account, SecureMerkleTrie} from "./lib/SecureMerkleTrie.sol";

/// @notice Where a game stands (contracts/DISPUTE.md).
/// @dev BLOCKS: level-1 bisection over L2 blocks. OPEN_BLOCK: the interval is one block; the
///      defender must open it. HEADER: the block is open; the challenger accepts its header or
///      proves it breaks the header rules. TXS: level-2 bisection over the block's transaction
///      positions. STEP: the interval is one transaction; anyone may prove it with `step`.
///      (HEADER is last so the earlier stages keep their numbers.)
enum Stage {
    BLOCKS,
    OPEN_BLOCK,
    TXS,
    STEP,
    HEADER
}

/// @notice What the game needs of the factory that created it: the oracle it serves.
interface IGameFactoryOracle {
    function oracle() external view returns (address);
}

/// @notice What the game needs of the oracle: the L2 timestamp rule it already enforces.
interface IOracleL2Time {
    function computeL2Timestamp(uint256 l2BlockNumber) external view returns (uint256);
}

/// @title DisputeGame
/// @notice The two-party game over one challenged output proposal (contracts/DISPUTE.md, design
///         §6): bisection over blocks with output-root claims, then over the transactions of
///         the first disputed block with trace commitments `D_i`, then one transaction executed
///         on L1 by the `IStepVerifier`. Each party has a chess clock; whoever runs out loses.
/// @dev Deployed by `DisputeGameFactory` as EIP-1167 clones of one implementation; the
///      verifier, clock and chain id are immutables of that implementation, so every clone of a
///      factory shares them. Invariants of the bisection: the claim at `lo` is agreed and the
///      claim at `hi` is disputed; `lo < hi`; the defender claims the midpoint
///      `mid = lo + (hi - lo) / 2` (= floor((lo + hi) / 2)) and the challenger keeps the half it
///      disputes. Turns (whose clock runs): BLOCKS/TXS — the defender while no midpoint claim is
///      pending, then the challenger; OPEN_BLOCK and STEP — the defender (the burden of proof is
///      on the claim); HEADER — the challenger (it must look at the header before the
///      transactions are played, so a step cannot end the game before a bad header is shown). A move is allowed while the mover's clock has time left
///      (`block.timestamp < turnStartedAt + clock`); afterwards only `resolve` is.
///      Proof encodings: every `bytes` proof argument (`messagePasserAccountProof`, `txProof`,
///      the tx-count proofs) is `abi.encode(bytes[] nodes)`, the RLP trie nodes from the root
///      down as `eth_getProof` lists them.
///
///      Storage layout (per clone): slots 0-6 `_params` (GameParams, in field order);
///      slot 7 status | stage | midClaimed | defenderClock | challengerClock | turnStartedAt |
///      _initialized; 8 lo; 9 hi; 10 claimLo; 11 claimHi; 12 midClaim; 13 txCount;
///      14 transactionsRoot; 15-21 `_ctx` (number, timestamp, coinbase, gasLimit, baseFee,
///      prevRandao, parentHash); 22 blockHash.
contract DisputeGame is IDisputeGame {
    using RLPReader for RLPItem;

    /// @notice The L2 predeploy whose storage root is part of every output root.
    address public constant MESSAGE_PASSER = 0x4200000000000000000000000000000000000016;
    /// @notice The L2 predeploy whose slot 3 (L1 origin hash = the block's mixHash) and slot 5
    ///         (gas limit and base-fee rules) `proveHeaderInvalid` reads from the post-state.
    address public constant L1_BLOCK = 0x4200000000000000000000000000000000000015;
    /// @notice Every Parallax block's beneficiary (coinbase).
    address public constant SEQUENCER_FEE_VAULT = 0x4200000000000000000000000000000000000011;
    /// @notice Every Parallax block's extraData.
    bytes public constant EXTRA_DATA = "parallax";
    /// @dev keccak256(rlp([])): the ommers hash of every post-merge header.
    bytes32 internal constant EMPTY_OMMERS_HASH = 0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347;
    /// @dev The root of an empty trie: the withdrawals root of every Parallax header.
    bytes32 internal constant EMPTY_TRIE_ROOT = 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421;

    /// @notice The factory that deployed the implementation; the only one that may initialize
    ///         a clone.
    address public immutable factory;
    /// @notice Executes the single disputed transaction.
    IStepVerifier public immutable verifier;
    /// @notice Seconds each party has on its clock for the whole game.
    uint64 public immutable clockSeconds;
    /// @notice L2 chain id (part of the block context given to the verifier).
    uint256 public immutable chainId;

    /// @dev Header fields the verifier needs (chainId is the immutable).
    struct StoredContext {
        uint256 number;
        uint256 timestamp;
        address coinbase;
        uint256 gasLimit;
        uint256 baseFee;
        bytes32 prevRandao;
        bytes32 parentHash;
    }

    GameParams internal _params;
    /// @inheritdoc IDisputeGame
    GameStatus public status;
    /// @notice Current stage (level 1: BLOCKS, OPEN_BLOCK; level 2: TXS, STEP).
    Stage public stage;
    /// @notice Whether the defender has claimed the midpoint of the current interval (then it is
    ///         the challenger's turn to choose a half).
    bool public midClaimed;
    /// @notice Seconds left on the defender's clock at `turnStartedAt`.
    uint64 public defenderClock;
    /// @notice Seconds left on the challenger's clock at `turnStartedAt`.
    uint64 public challengerClock;
    /// @notice When the current turn started (the mover's clock runs from here).
    uint64 public turnStartedAt;
    bool private _initialized;
    /// @notice Agreed end of the interval (block number at level 1, tx position at level 2).
    uint256 public lo;
    /// @notice Disputed end of the interval.
    uint256 public hi;
    /// @notice The agreed claim at `lo` (output root at level 1, `D_lo` at level 2).
    bytes32 public claimLo;
    /// @notice The disputed claim at `hi` (output root at level 1, `D_hi` at level 2).
    bytes32 public claimHi;
    /// @notice The defender's claim at `mid()` while `midClaimed`.
    bytes32 public midClaim;
    /// @notice Number of transactions the defender claims for the disputed block (level 2).
    uint256 public txCount;
    /// @notice The disputed block's transactions root (level 2): tx proofs are checked against it.
    bytes32 public transactionsRoot;
    StoredContext internal _ctx;
    /// @notice The disputed block's hash (level 2): the header `openBlock` was given hashes to it.
    bytes32 public blockHash;

    /// @notice The defender claimed `claim` at `position` (level 1: output root of block
    ///         `position`; level 2: `D_position`) for the interval (`lo`, `hi`).
    event Defended(
        uint8 indexed level,
        address indexed mover,
        uint256 position,
        bytes32 claim,
        uint256 lo,
        uint256 hi,
        uint64 clockLeft
    );
    /// @notice The challenger agreed (`agree`) or disagreed with the claim at `position`; the
    ///         interval is now (`lo`, `hi`).
    event Chosen(
        uint8 indexed level,
        address indexed mover,
        bool agree,
        uint256 position,
        uint256 lo,
        uint256 hi,
        uint64 clockLeft
    );
    /// @notice The defender opened block `blockNumber`: level 2 starts over (0, `txCount`)
    ///         with `D_0` = `preCommitment` and `D_txCount` = `postCommitment`.
    event BlockOpened(
        address indexed mover,
        uint256 indexed blockNumber,
        uint256 txCount,
        bytes32 transactionsRoot,
        bytes32 preCommitment,
        bytes32 postCommitment,
        uint64 clockLeft
    );
    /// @notice Transaction `txIndex` was executed by the verifier: `postCommitment` against the
    ///         disputed `D_{txIndex+1}` decided `status`.
    event StepVerified(
        address indexed caller,
        uint256 indexed txIndex,
        bytes32 postCommitment,
        bytes32 disputedCommitment,
        GameStatus status
    );
    /// @notice The defender's header of the disputed block, as `openBlock` received it, so a
    ///         challenger can check it without the L1 transaction's calldata.
    event HeaderOpened(bytes32 indexed blockHash, bytes headerRlp);
    /// @notice The challenger proved the disputed header breaks the chain's header rules: the
    ///         header those rules give for the same contents hashes to `expectedHash`.
    event HeaderDisproven(address indexed mover, bytes32 blockHash, bytes32 expectedHash);
    /// @notice The challenger accepted the opened header: the transaction bisection starts.
    event HeaderAccepted(address indexed mover, uint64 clockLeft);
    /// @notice The challenger proved the claimed `txCount` wrong (too few or too many).
    event TxCountDisproven(address indexed mover, uint256 txCount, bool tooFew);
    /// @notice The game is decided.
    event Resolved(GameStatus indexed status);

    /// @notice Only the factory initializes clones.
    error NotFactory();
    /// @notice A clone is initialized once.
    error AlreadyInitialized();
    /// @notice A constructor or initializer parameter is unusable.
    error InvalidParameter();
    /// @notice The game is already decided; no move changes it.
    error GameAlreadyResolved();
    /// @notice The move belongs to another stage (e.g. a level-2 move during level 1).
    error WrongStage(Stage expected, Stage current);
    /// @notice Only the defender makes this move.
    error NotDefender();
    /// @notice Only the challenger makes this move.
    error NotChallenger();
    /// @notice It is the other party's turn.
    error NotYourTurn();
    /// @notice The clock of the party to move has run out: only `resolve` is possible.
    error ClockExpired();
    /// @notice `resolve` before any clock ran out.
    error GameNotOver();
    /// @notice The pre-state preimage does not hash to the agreed output root.
    error PreOutputMismatch();
    /// @notice The post-state preimage (with keccak256(header)) does not hash to the disputed root.
    error PostOutputMismatch();
    /// @notice The header is not an RLP list of at least 16 well-formed fields.
    error InvalidHeader();
    /// @notice The header's parentHash is not the agreed block hash.
    error HeaderParentMismatch();
    /// @notice The header's number is not the disputed block.
    error HeaderNumberMismatch(uint256 number, uint256 expected);
    /// @notice The header's stateRoot is not the claimed post-state root.
    error HeaderStateRootMismatch();
    /// @notice The message passer's storage root in the post state is not the claimed one.
    error MessagePasserRootMismatch();
    /// @notice Every block has at least the L1-info deposit.
    error ZeroTxCount();
    /// @notice The step's pre-state does not hash to the agreed `D_lo`.
    error PreCommitmentMismatch();
    /// @notice The transaction is not at `index` in the block's transactions trie.
    error TxNotInBlock(uint256 index);
    /// @notice The tx-count proof does not contradict the claimed count.
    error TxCountNotDisproven();
    /// @notice The header given to `proveHeaderInvalid` is not the one `openBlock` received.
    error HeaderNotOpened();
    /// @notice The parent header given to `proveHeaderInvalid` does not hash to the agreed parent.
    error ParentHeaderMismatch();
    /// @notice The post-state proof shows no `L1Block` account.
    error L1BlockMissing();
    /// @notice The disputed header is exactly what the header rules give: nothing to prove.
    error HeaderNotDisproven();

    /// @notice Fixes the configuration every clone of this implementation shares; the deployer
    ///         (the factory) becomes the only initializer.
    /// @param verifier_ The step verifier.
    /// @param clockSeconds_ Seconds on each party's clock (1 .. 2^32).
    /// @param chainId_ The L2 chain id.
    constructor(IStepVerifier verifier_, uint256 clockSeconds_, uint256 chainId_) {
        if (address(verifier_) == address(0) || clockSeconds_ == 0 || clockSeconds_ > type(uint32).max) {
            revert InvalidParameter();
        }
        factory = msg.sender;
        verifier = verifier_;
        // forge-lint: disable-next-line(unsafe-typecast) -- checked above
        clockSeconds = uint64(clockSeconds_);
        chainId = chainId_;
    }

    /// @notice Starts the game for one dispute (called by the factory right after cloning, in
    ///         the oracle's `challenge` transaction): both clocks full, the defender to move.
    function initialize(GameParams calldata params_) external {
        if (msg.sender != factory) revert NotFactory();
        if (_initialized) revert AlreadyInitialized();
        if (params_.disputedBlockNumber <= params_.startingBlockNumber) revert InvalidParameter();
        _initialized = true;
        _params = params_;
        lo = params_.startingBlockNumber;
        hi = params_.disputedBlockNumber;
        claimLo = params_.startingOutputRoot;
        claimHi = params_.disputedOutputRoot;
        defenderClock = clockSeconds;
        challengerClock = clockSeconds;
        turnStartedAt = uint64(block.timestamp);
        stage = hi - lo == 1 ? Stage.OPEN_BLOCK : Stage.BLOCKS;
    }

    // ------------------------------------------------------------------ level 1: blocks

    /// @notice Defender: claims `midRoot` as the output root of block `mid()`.
    function defendBlock(bytes32 midRoot) external {
        _defend(Stage.BLOCKS, midRoot);
    }

    /// @notice Challenger: agrees (the dispute is after `mid()`) or disagrees (at or before it)
    ///         with the defender's claim at `mid()`.
    function chooseBlock(bool agree) external {
        _choose(Stage.BLOCKS, agree);
    }

    /// @notice Defender: opens the disputed block `hi()` for level 2, proving the agreed and the
    ///         disputed output roots' preimages, the header and the message passer's storage root
    ///         (contracts/DISPUTE.md, "Level 2"). Sets `D_0`, `D_txCount` and the interval
    ///         (0, txCount).
    /// @param headerRlp The RLP block header of block `hi()` (Cancun field order).
    /// @param messagePasserAccountProof `abi.encode(bytes[])`: the state-trie proof of
    ///        `MESSAGE_PASSER` against `postStateRoot`.
    function openBlock(
        bytes32 preStateRoot,
        bytes32 preMessagePasserRoot,
        bytes32 preBlockHash,
        bytes32 postStateRoot,
        bytes32 postMessagePasserRoot,
        bytes calldata headerRlp,
        uint256 txCount_,
        bytes32 finalReceiptsHash,
        bytes calldata messagePasserAccountProof
    ) external {
        _requireStage(Stage.OPEN_BLOCK);
        if (msg.sender != _params.defender) revert NotDefender();
        uint64 left = _charge(true);
        if (_outputRoot(preStateRoot, preMessagePasserRoot, preBlockHash) != claimLo) revert PreOutputMismatch();
        _openHeader(postStateRoot, postMessagePasserRoot, headerRlp);
        uint256 gasUsed = _readHeader(headerRlp, preBlockHash, postStateRoot);
        (, Account memory passer) =
            SecureMerkleTrie.getAccount(MESSAGE_PASSER, abi.decode(messagePasserAccountProof, (bytes[])), postStateRoot);
        if (passer.storageRoot != postMessagePasserRoot) revert MessagePasserRootMismatch();
        if (txCount_ == 0) revert ZeroTxCount();

        bytes32 d0 = _commitment(preStateRoot, 0, bytes32(0));
        bytes32 dT = _commitment(postStateRoot, gasUsed, finalReceiptsHash);
        txCount = txCount_;
        lo = 0;
        hi = txCount_;
        claimLo = d0;
        claimHi = dT;
        stage = Stage.HEADER;
        emit BlockOpened(msg.sender, _ctx.number, txCount_, transactionsRoot, d0, dT, left);
    }

    // ------------------------------------------------------------------ level 2: transactions

    /// @notice Defender: claims `midCommitment` as `D_mid` (the state after the first `mid()`
    ///         transactions of the block).
    function defendTx(bytes32 midCommitment) external {
        _defend(Stage.TXS, midCommitment);
    }

    /// @notice Challenger: agrees or disagrees with the defender's `D_mid`.
    function chooseTx(bool agree) external {
        _choose(Stage.TXS, agree);
    }

    /// @notice Challenger, at any time during level 2: proves the block has more than
    ///         `txCount()` transactions with an inclusion proof of index `txCount()` against
    ///         `transactionsRoot()`. The challenger wins.
    /// @param proof `abi.encode(bytes[])`: trie nodes for key rlp(txCount()).
    function proveTxCountTooLow(bytes calldata proof) external {
        _proveTxCount(proof, true);
    }

    /// @notice Challenger, at any time during level 2: proves the block has fewer than
    ///         `txCount()` transactions with an exclusion proof of index `txCount() - 1`.
    ///         The challenger wins.
    /// @param proof `abi.encode(bytes[])`: trie nodes for key rlp(txCount() - 1).
    function proveTxCountTooHigh(bytes calldata proof) external {
        _proveTxCount(proof, false);
    }

    /// @notice Challenger, right after `openBlock`: accepts the header (it has not proven it
    ///         wrong with `proveHeaderInvalid`), and the transaction bisection starts.
    function acceptHeader() external {
        _requireStage(Stage.HEADER);
        if (msg.sender != _params.challenger) revert NotChallenger();
        uint64 left = _charge(false);
        stage = txCount == 1 ? Stage.STEP : Stage.TXS;
        emit HeaderAccepted(msg.sender, left);
    }

    /// @notice Challenger, at any time during level 2: proves the disputed header breaks the
    ///         header rules every Parallax block follows, whatever its transactions. The header
    ///         is rebuilt from its own parent hash, state root, transactions root, receipts root,
    ///         logs bloom, number and gasUsed, with every other field as the rules give it:
    ///         the constant fields of a Parallax Cancun header, the timestamp of the oracle's
    ///         `computeL2Timestamp`, the mixHash (L1 origin hash, `L1Block` slot 3) and gas
    ///         limit and base-fee rules (`L1Block` slot 5) from the block's post-state, and the
    ///         EIP-1559 base fee from the parent header. If that header does not hash to
    ///         `blockHash()` (a field differs, a field is missing or extra, or an encoding is not
    ///         canonical), the challenger wins.
    /// @param headerRlp The header `openBlock` received (see `HeaderOpened`).
    /// @param parentHeaderRlp The agreed parent's header (hashes to the parent hash).
    /// @param l1BlockProof `abi.encode(bytes[] accountProof, bytes[] slot3Proof, bytes[] slot5Proof)`:
    ///        `L1Block`'s account against the header's state root and its slots 3 and 5.
    function proveHeaderInvalid(bytes calldata headerRlp, bytes calldata parentHeaderRlp, bytes calldata l1BlockProof)
        external
    {
        _requireChallengerAtLevel2();
        bytes32 disputed = blockHash;
        if (keccak256(headerRlp) != disputed) revert HeaderNotOpened();
        bytes32 expected = ruledHeaderHash(headerRlp, parentHeaderRlp, l1BlockProof);
        if (expected == disputed) revert HeaderNotDisproven();
        emit HeaderDisproven(msg.sender, disputed, expected);
        _decide(GameStatus.CHALLENGER_WINS);
    }

    /// @notice Anyone, at the one disputed transaction `i = lo()`: executes it with the verifier
    ///         from the agreed pre-state and decides the game: DEFENDER_WINS if the result is the
    ///         disputed `D_{i+1}`, CHALLENGER_WINS otherwise.
    /// @param txRlp The transaction as stored in the block (EIP-2718 envelope).
    /// @param txProof `abi.encode(bytes[])`: inclusion proof of key rlp(i) against
    ///        `transactionsRoot()`.
    /// @param witness Passed to the verifier unchanged.
    function step(
        bytes32 preStateRoot,
        uint256 preCumulativeGas,
        bytes32 preReceiptsHash,
        bytes calldata txRlp,
        bytes calldata txProof,
        bytes calldata witness
    ) external {
        _requireStage(Stage.STEP);
        _requireClockRunning();
        if (_commitment(preStateRoot, preCumulativeGas, preReceiptsHash) != claimLo) revert PreCommitmentMismatch();
        _requireTxInBlock(txRlp, txProof);
        // The verifier is a trusted immutable, called last before the outcome is recorded.
        bytes32 post = verifier.verifyTransaction(
            blockContext(), lo, preStateRoot, preCumulativeGas, preReceiptsHash, txRlp, witness
        );
        _finishStep(post);
    }

    // ------------------------------------------------------------------ resolution

    /// @notice Anyone: decides the game once the clock of the party to move has run out (that
    ///         party loses).
    function resolve() external returns (GameStatus) {
        if (status != GameStatus.IN_PROGRESS) revert GameAlreadyResolved();
        if (!expired()) revert GameNotOver();
        GameStatus outcome = defenderToMove() ? GameStatus.CHALLENGER_WINS : GameStatus.DEFENDER_WINS;
        _decide(outcome);
        return outcome;
    }

    // ------------------------------------------------------------------ views

    /// @notice The dispute this game decides (fixed at creation).
    function params() external view returns (GameParams memory) {
        return _params;
    }

    /// @notice The proposer of the disputed output.
    function defender() external view returns (address) {
        return _params.defender;
    }

    /// @notice The account that opened the dispute.
    function challenger() external view returns (address) {
        return _params.challenger;
    }

    /// @notice 1 during block bisection (BLOCKS, OPEN_BLOCK), 2 once the block is open (HEADER,
    ///         TXS, STEP).
    function level() public view returns (uint8) {
        return stage <= Stage.OPEN_BLOCK ? 1 : 2;
    }

    /// @notice The midpoint the defender claims next (or has claimed): floor((lo + hi) / 2).
    function mid() public view returns (uint256) {
        return lo + (hi - lo) / 2;
    }

    /// @notice Whether the defender's clock is the one running (otherwise the challenger's).
    function defenderToMove() public view returns (bool) {
        if (stage == Stage.HEADER) return false;
        return !((stage == Stage.BLOCKS || stage == Stage.TXS) && midClaimed);
    }

    /// @notice The party whose clock runs now (zero once the game is decided).
    function turn() external view returns (address) {
        if (status != GameStatus.IN_PROGRESS) return address(0);
        return defenderToMove() ? _params.defender : _params.challenger;
    }

    /// @notice Seconds left on each clock now (the running one counts down from `turnStartedAt`).
    function clocksNow() public view returns (uint64 defenderLeft, uint64 challengerLeft) {
        defenderLeft = defenderClock;
        challengerLeft = challengerClock;
        if (status != GameStatus.IN_PROGRESS) return (defenderLeft, challengerLeft);
        uint256 elapsed = block.timestamp - turnStartedAt;
        if (defenderToMove()) {
            // forge-lint: disable-next-line(unsafe-typecast) -- the running clock only shrinks (elapsed < left)
            defenderLeft = elapsed >= defenderLeft ? 0 : uint64(defenderLeft - elapsed);
        } else {
            // forge-lint: disable-next-line(unsafe-typecast) -- the running clock only shrinks (elapsed < left)
            challengerLeft = elapsed >= challengerLeft ? 0 : uint64(challengerLeft - elapsed);
        }
    }

    /// @notice Whether the party to move has run out of time (then `resolve` decides the game).
    function expired() public view returns (bool) {
        (uint64 d, uint64 c) = clocksNow();
        return defenderToMove() ? d == 0 : c == 0;
    }

    /// @notice The disputed block's environment as the verifier receives it (zero before
    ///         `openBlock`, except the chain id).
    function blockContext() public view returns (BlockContext memory) {
        StoredContext storage c = _ctx;
        return BlockContext({
            chainId: chainId,
            number: c.number,
            timestamp: c.timestamp,
            coinbase: c.coinbase,
            gasLimit: c.gasLimit,
            baseFee: c.baseFee,
            prevRandao: c.prevRandao,
            parentHash: c.parentHash
        });
    }

    // ------------------------------------------------------------------ internals

    /// @dev A defender midpoint claim at `expected`'s level.
    function _defend(Stage expected, bytes32 claim) private {
        _requireStage(expected);
        if (msg.sender != _params.defender) revert NotDefender();
        if (midClaimed) revert NotYourTurn();
        uint64 left = _charge(true);
        midClaimed = true;
        midClaim = claim;
        emit Defended(level(), msg.sender, mid(), claim, lo, hi, left);
    }

    /// @dev The challenger keeps the half it disputes; an interval of one moves to the next stage.
    function _choose(Stage expected, bool agree) private {
        _requireStage(expected);
        if (msg.sender != _params.challenger) revert NotChallenger();
        if (!midClaimed) revert NotYourTurn();
        uint64 left = _charge(false);
        uint256 m = mid();
        if (agree) {
            lo = m;
            claimLo = midClaim;
        } else {
            hi = m;
            claimHi = midClaim;
        }
        midClaimed = false;
        midClaim = bytes32(0);
        uint8 lvl = level();
        if (hi - lo == 1) stage = expected == Stage.BLOCKS ? Stage.OPEN_BLOCK : Stage.STEP;
        emit Chosen(lvl, msg.sender, agree, m, lo, hi, left);
    }

    /// @dev Both tx-count proofs: inclusion of rlp(txCount) or exclusion of rlp(txCount - 1).
    function _proveTxCount(bytes calldata proof, bool tooFew) private {
        _requireChallengerAtLevel2();
        uint256 count = txCount;
        (bool exists,) =
            MerkleTrie.get(_rlpIndex(tooFew ? count : count - 1), abi.decode(proof, (bytes[])), transactionsRoot);
        if (exists != tooFew) revert TxCountNotDisproven();
        emit TxCountDisproven(msg.sender, count, tooFew);
        _decide(GameStatus.CHALLENGER_WINS);
    }

    /// @dev The preconditions of the challenger's level-2 proofs (tx count, header): an undecided
    ///      game in HEADER, TXS or STEP, the challenger, and the running clock not expired.
    function _requireChallengerAtLevel2() private view {
        if (status != GameStatus.IN_PROGRESS) revert GameAlreadyResolved();
        if (level() != 2) revert WrongStage(Stage.TXS, stage);
        if (msg.sender != _params.challenger) revert NotChallenger();
        _requireClockRunning();
    }

    /// @notice The hash of the header the rules give the opened block with the contents of
    ///         `headerRlp` (see `proveHeaderInvalid`), or zero when `headerRlp` cannot be a
    ///         Cancun header at all (not 20 fields, or a receipts root / logs bloom of the wrong
    ///         size). A challenger compares it with `blockHash()` before proving anything.
    function ruledHeaderHash(bytes calldata headerRlp, bytes calldata parentHeaderRlp, bytes calldata l1BlockProof)
        public
        view
        returns (bytes32)
    {
        if (level() != 2) revert WrongStage(Stage.HEADER, stage);
        if (keccak256(parentHeaderRlp) != _ctx.parentHash) revert ParentHeaderMismatch();
        RLPItem[] memory f = RLPReader.toItem(headerRlp).readList();
        if (f.length != 20) return bytes32(0);
        bytes memory receiptsRoot = f[5].readRawBytes();
        bytes memory bloom = f[6].readRawBytes();
        if (
            receiptsRoot.length != 33 || receiptsRoot[0] != 0xa0 || bloom.length != 259 || bloom[0] != 0xb9
                || bloom[1] != 0x01 || bloom[2] != 0x00
        ) return bytes32(0);
        bytes32 stateRoot = f[3].readBytes32();
        (uint256 gasLimit, uint256 baseFee, bytes32 mixHash) = _blockRules(stateRoot, parentHeaderRlp, l1BlockProof);
        uint256 number = _ctx.number;
        bytes[] memory h = new bytes[](20);
        h[0] = RLPWriter.encodeBytes32(_ctx.parentHash);
        h[1] = RLPWriter.encodeBytes32(EMPTY_OMMERS_HASH);
        h[2] = RLPWriter.encodeBytes(abi.encodePacked(SEQUENCER_FEE_VAULT));
        h[3] = RLPWriter.encodeBytes32(stateRoot);
        h[4] = RLPWriter.encodeBytes32(transactionsRoot);
        h[5] = receiptsRoot;
        h[6] = bloom;
        h[7] = RLPWriter.encodeUint(0); // difficulty
        h[8] = RLPWriter.encodeUint(number);
        h[9] = RLPWriter.encodeUint(gasLimit);
        h[10] = RLPWriter.encodeUint(f[10].readUint256()); // gasUsed: committed to by D_txCount
        h[11] = RLPWriter.encodeUint(IOracleL2Time(IGameFactoryOracle(factory).oracle()).computeL2Timestamp(number));
        h[12] = RLPWriter.encodeBytes(EXTRA_DATA);
        h[13] = RLPWriter.encodeBytes32(mixHash);
        h[14] = hex"880000000000000000"; // nonce: eight zero bytes
        h[15] = RLPWriter.encodeUint(baseFee);
        h[16] = RLPWriter.encodeBytes32(EMPTY_TRIE_ROOT); // withdrawals root
        h[17] = RLPWriter.encodeUint(0); // blob gas used
        h[18] = RLPWriter.encodeUint(0); // excess blob gas
        h[19] = RLPWriter.encodeBytes32(bytes32(0)); // parent beacon block root
        return keccak256(RLPWriter.encodeList(h));
    }

    /// @dev The gas limit, base fee and mixHash the rules give the disputed block: `L1Block`'s
    ///      slots 3 and 5 in its post-state (`stateRoot`), and EIP-1559 over the parent header
    ///      exactly as `parallax_protocol::next_base_fee` (u128 arithmetic, saturating at
    ///      2^64 - 1), floored at the minimum base fee.
    function _blockRules(bytes32 stateRoot, bytes calldata parentHeaderRlp, bytes calldata l1BlockProof)
        private
        pure
        returns (uint256 gasLimit, uint256 baseFee, bytes32 mixHash)
    {
        (bytes[] memory accountProof, bytes[] memory slot3Proof, bytes[] memory slot5Proof) =
            abi.decode(l1BlockProof, (bytes[], bytes[], bytes[]));
        (bool exists, Account memory l1Block) = SecureMerkleTrie.getAccount(L1_BLOCK, accountProof, stateRoot);
        if (!exists) revert L1BlockMissing();
        mixHash = bytes32(SecureMerkleTrie.getStorage(bytes32(uint256(3)), slot3Proof, l1Block.storageRoot));
        uint256 rules = SecureMerkleTrie.getStorage(bytes32(uint256(5)), slot5Proof, l1Block.storageRoot);
        // forge-lint: disable-next-line(unsafe-typecast) -- unpacking one field of L1Block slot 5
        gasLimit = uint64(rules >> 64);
        RLPItem[] memory p = RLPReader.toItem(parentHeaderRlp).readList();
        if (p.length < 16) revert InvalidHeader();
        uint256 parentBaseFee = p[15].readUint256();
        // forge-lint: disable-next-line(unsafe-typecast) -- unpacking one field of L1Block slot 5
        uint256 elasticity = uint32(rules >> 128);
        // forge-lint: disable-next-line(unsafe-typecast) -- unpacking one field of L1Block slot 5
        uint256 denominator = uint32(rules >> 160);
        uint256 target = p[9].readUint256() / (elasticity == 0 ? 1 : elasticity);
        uint256 used = p[10].readUint256();
        if (target == 0 || used == target) {
            baseFee = parentBaseFee;
        } else if (used > target) {
            uint256 delta = parentBaseFee * (used - target) / target / (denominator == 0 ? 1 : denominator);
            baseFee = parentBaseFee + (delta == 0 ? 1 : delta);
        } else {
            uint256 delta = parentBaseFee * (target - used) / target / (denominator == 0 ? 1 : denominator);
            baseFee = parentBaseFee > delta ? parentBaseFee - delta : 0;
        }
        if (baseFee > type(uint64).max) baseFee = type(uint64).max;
        // forge-lint: disable-next-line(unsafe-typecast) -- unpacking one field of L1Block slot 5
        uint256 minBaseFee = uint64(rules >> 192);
        if (baseFee < minBaseFee) baseFee = minBaseFee;
    }

    /// @dev Reverts unless `txRlp` is the transaction at position `lo` of the disputed block.
    function _requireTxInBlock(bytes calldata txRlp, bytes calldata txProof) private view {
        uint256 index = lo;
        (bool exists, bytes memory value) =
            MerkleTrie.get(_rlpIndex(index), abi.decode(txProof, (bytes[])), transactionsRoot);
        if (!exists || keccak256(value) != keccak256(txRlp)) revert TxNotInBlock(index);
    }

    /// @dev Decides the game from the verifier's post-state commitment.
    function _finishStep(bytes32 post) private {
        bytes32 disputed = claimHi;
        GameStatus outcome = post == disputed ? GameStatus.DEFENDER_WINS : GameStatus.CHALLENGER_WINS;
        emit StepVerified(msg.sender, lo, post, disputed, outcome);
        _decide(outcome);
    }

    /// @dev Reverts unless the game is undecided and in `expected`.
    function _requireStage(Stage expected) private view {
        if (status != GameStatus.IN_PROGRESS) revert GameAlreadyResolved();
        if (stage != expected) revert WrongStage(expected, stage);
    }

    /// @dev Reverts once the party to move has run out of time.
    function _requireClockRunning() private view {
        if (expired()) revert ClockExpired();
    }

    /// @dev Charges the mover (whose turn it is, checked by the caller) the time since the turn
    ///      started and starts the other party's turn.
    function _charge(bool isDefender) private returns (uint64 left) {
        uint256 elapsed = block.timestamp - turnStartedAt;
        uint64 clock = isDefender ? defenderClock : challengerClock;
        if (elapsed >= clock) revert ClockExpired();
        // forge-lint: disable-next-line(unsafe-typecast) -- elapsed < clock <= 2^32
        left = clock - uint64(elapsed);
        if (isDefender) defenderClock = left;
        else challengerClock = left;
        turnStartedAt = uint64(block.timestamp);
    }

    function _decide(GameStatus outcome) private {
        status = outcome;
        emit Resolved(outcome);
    }

    /// @dev Checks the disputed output root's preimage (with the header's hash), records that
    ///      hash and publishes the header for `proveHeaderInvalid`.
    function _openHeader(bytes32 postStateRoot, bytes32 postMessagePasserRoot, bytes calldata headerRlp) private {
        bytes32 postBlockHash = keccak256(headerRlp);
        if (_outputRoot(postStateRoot, postMessagePasserRoot, postBlockHash) != claimHi) {
            revert PostOutputMismatch();
        }
        blockHash = postBlockHash;
        emit HeaderOpened(postBlockHash, headerRlp);
    }

    /// @dev Decodes the header, checks it against the game (parent, number, state root) and
    ///      stores the fields the verifier and tx proofs need. Returns its gasUsed.
    function _readHeader(bytes calldata headerRlp, bytes32 parentHash, bytes32 stateRoot)
        private
        returns (uint256 gasUsed)
    {
        RLPItem[] memory f = RLPReader.toItem(headerRlp).readList();
        // Through baseFeePerGas (London); Cancun headers have 20 fields.
        if (f.length < 16) revert InvalidHeader();
        if (f[0].readBytes32() != parentHash) revert HeaderParentMismatch();
        uint256 number = f[8].readUint256();
        if (number != hi) revert HeaderNumberMismatch(number, hi);
        if (f[3].readBytes32() != stateRoot) revert HeaderStateRootMismatch();
        bytes memory beneficiary = f[2].readBytes();
        if (beneficiary.length != 20) revert InvalidHeader();
        transactionsRoot = f[4].readBytes32();
        _ctx = StoredContext({
            number: number,
            timestamp: f[11].readUint256(),
            // forge-lint: disable-next-line(unsafe-typecast) -- the beneficiary is checked to be 20 bytes
            coinbase: address(bytes20(beneficiary)),
            gasLimit: f[9].readUint256(),
            baseFee: f[15].readUint256(),
            prevRandao: f[13].readBytes32(),
            parentHash: parentHash
        });
        gasUsed = f[10].readUint256();
    }

    /// @dev O = keccak256(bytes32(0) ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash).
    function _outputRoot(bytes32 stateRoot, bytes32 passerRoot, bytes32 blockHash) private pure returns (bytes32) {
        return keccak256(abi.encode(bytes32(0), stateRoot, passerRoot, blockHash));
    }

    /// @dev D = keccak256(stateRoot ‖ uint256 cumulativeGas ‖ receiptsHash).
    function _commitment(bytes32 stateRoot, uint256 cumulativeGas, bytes32 receiptsHash)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(stateRoot, cumulativeGas, receiptsHash));
    }

    /// @dev The transactions-trie key of position `i`: the RLP encoding of the integer.
    function _rlpIndex(uint256 i) private pure returns (bytes memory out) {
        if (i == 0) return hex"80";
        // forge-lint: disable-next-line(unsafe-typecast) -- i < 0x80
        if (i < 0x80) return abi.encodePacked(uint8(i));
        uint256 len;
        for (uint256 t = i; t != 0; t >>= 8) {
            ++len;
        }
        out = new bytes(len + 1);
        // forge-lint: disable-next-line(unsafe-typecast) -- len <= 32
        out[0] = bytes1(uint8(0x80 + len));
        for (uint256 k; k < len; ++k) {
            // forge-lint: disable-next-line(unsafe-typecast) -- one byte of i
            out[len - k] = bytes1(uint8(i >> (8 * k)));
        }
    }
}
