// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {IDisputeGame, GameStatus} from "./interfaces/IDisputeGame.sol";
import {GameParams, IDisputeGameFactory} from "./interfaces/IDisputeGameFactory.sol";
import {Initializable} from "./lib/Initializable.sol";
import {ReentrancyGuard} from "./lib/ReentrancyGuard.sol";
import {SystemConfig} from "./SystemConfig.sol";

/// @notice Initial parameters of an `OutputOracle`.
/// @param systemConfig Source of the proposer and challenger roles and of the owner.
/// @param disputeGameFactory Creates dispute games; may be zero until the game is deployed
///        (then challenges revert with `DisputeGameFactoryNotSet`).
/// @param proposalInterval L2 blocks between consecutive proposals.
/// @param l2BlockTimeMs L2 block time in milliseconds (the node's `block_time_ms`).
/// @param genesisL2Timestamp Timestamp (seconds) of L2 block 0.
/// @param startingBlockNumber L2 block of the starting output (the first proposal is for
///        `startingBlockNumber + proposalInterval`).
/// @param startingOutputRoot Output root at `startingBlockNumber` (anchor of the first dispute).
/// @param challengeWindow Seconds a proposal can be challenged before it finalizes.
/// @param proposalBond Exact wei the proposer locks with each proposal.
/// @param challengeBond Exact wei a challenger locks with each challenge.
struct OutputOracleInit {
    address systemConfig;
    address disputeGameFactory;
    uint256 proposalInterval;
    uint256 l2BlockTimeMs;
    uint256 genesisL2Timestamp;
    uint256 startingBlockNumber;
    bytes32 startingOutputRoot;
    uint256 challengeWindow;
    uint256 proposalBond;
    uint256 challengeBond;
}

/// @notice One output proposal and its dispute state.
/// @param outputRoot The proposed output root.
/// @param proposer Who proposed it (gets the bond back, or the challenger bond on a won game).
/// @param l2BlockNumber The L2 block it commits to.
/// @param proposedAt L1 timestamp of the proposal.
/// @param challengeDeadline It may be challenged strictly before this time and finalizes at or
///        after it (if no challenge is open and every earlier proposal is final).
/// @param bond The proposer's bond still held for it (0 once released).
/// @param game The open dispute game, or zero when none is open.
/// @param challengerBond The open challenge's bond (0 when none is open).
/// @param challenger The open challenge's challenger (zero when none is open).
struct Proposal {
    bytes32 outputRoot;
    address proposer;
    uint64 l2BlockNumber;
    uint64 proposedAt;
    uint64 challengeDeadline;
    uint96 bond;
    IDisputeGame game;
    uint96 challengerBond;
    address challenger;
}

/// @title OutputOracle
/// @notice Settlement of L2 output roots: the proposer posts an output root every
///         `proposalInterval` L2 blocks with a bond; anyone allowed may challenge it with a bond,
///         which opens a dispute game; unchallenged proposals finalize after `challengeWindow`.
///         The `Portal` only pays withdrawals proven against finalized proposals.
/// @dev Rules, and why:
///      - Proposals form one sequence (`nextBlockNumber`), each for an L2 block whose timestamp
///        has passed on L1 (a block that cannot exist yet cannot be proposed).
///      - Finality is sequential: proposal i is final when, for every k <= i, no challenge is open
///        on k and k's challenge deadline has passed. A lost game deletes the proposal and every
///        later one, so a later proposal must not become final while an earlier one may still be
///        deleted. Once final, a proposal can never be challenged or deleted.
///      - A challenger-won game (`resolve`) pays both bonds of the disputed proposal to the
///        challenger and deletes it and all later proposals; the later proposals were not proven
///        wrong, so their bonds (and the bonds of challenges open on them) are refunded.
///      - A defender-won game pays the challenger bond to the proposer, and the proposal gets a
///        fresh challenge window from the resolution: a challenge that is lost on purpose (e.g. by
///        an accomplice of a dishonest proposer) cannot run out the clock of honest challengers.
///      - Bonds are pull payments (`credit`, `claimCredit`), so a recipient that rejects ETH can
///        block nothing but its own payout. The oracle's balance always equals the bonds of live
///        proposals and open challenges plus all unclaimed credit.
///      - A proposer's bond returns (as credit) when the checkpoint passes its final proposal.
///        `isFinalized` scans from the checkpoint; every `propose` advances it by up to two
///        proposals (so it keeps up with the chain), and anyone may advance it with `checkpoint`.
///
///      Storage layout (sequential slots; the initializer version and the reentrancy lock are
///      elsewhere, see `Initializable` and `ReentrancyGuard`):
///        slot 0: systemConfig        slot 5: startingBlockNumber   slot 10: proposals (length;
///        slot 1: disputeGameFactory  slot 6: startingOutputRoot             element i at
///        slot 2: proposalInterval    slot 7: challengeWindow                keccak256(10) + 5*i)
///        slot 3: l2BlockTimeMs       slot 8: proposalBond          slot 11: finalizedCheckpoint
///        slot 4: genesisL2Timestamp  slot 9: challengeBond         slot 12: credit (mapping)
///      A `Proposal` takes 5 slots: outputRoot | proposer, l2BlockNumber | proposedAt,
///      challengeDeadline, bond | game, challengerBond | challenger.
contract OutputOracle is Initializable, ReentrancyGuard {
    /// @notice Proposals `propose` moves the finality checkpoint over (see `checkpoint`).
    uint256 public constant PROPOSE_CHECKPOINT_STEPS = 2;

    /// @notice Where the proposer, challenger and owner roles are read from.
    SystemConfig public systemConfig;
    /// @notice Creates dispute games for challenges.
    IDisputeGameFactory public disputeGameFactory;
    /// @notice L2 blocks between consecutive proposals.
    uint256 public proposalInterval;
    /// @notice L2 block time in milliseconds.
    uint256 public l2BlockTimeMs;
    /// @notice Timestamp (seconds) of L2 block 0.
    uint256 public genesisL2Timestamp;
    /// @notice L2 block of the starting output.
    uint256 public startingBlockNumber;
    /// @notice Output root of the starting output (the anchor before any proposal).
    bytes32 public startingOutputRoot;
    /// @notice Seconds a proposal stays challengeable (devnet ~60; production 7 days).
    uint256 public challengeWindow;
    /// @notice Exact bond for a proposal.
    uint256 public proposalBond;
    /// @notice Exact bond for a challenge.
    uint256 public challengeBond;
    Proposal[] internal _proposals;
    /// @notice Number of leading proposals known final with their bonds released.
    uint256 public finalizedCheckpoint;
    /// @notice Wei each account can withdraw with `claimCredit`.
    mapping(address => uint256) public credit;

    /// @notice A proposal was made.
    event OutputProposed(
        bytes32 indexed outputRoot, uint256 indexed outputIndex, uint256 indexed l2BlockNumber, uint256 l1Timestamp
    );
    /// @notice A proposal was challenged and `game` opened.
    event OutputChallenged(uint256 indexed outputIndex, address indexed challenger, address game);
    /// @notice A challenge was resolved with `status` (CHALLENGER_WINS or DEFENDER_WINS).
    event ChallengeResolved(uint256 indexed outputIndex, address indexed game, GameStatus status);
    /// @notice Proposals `fromIndex` to `previousCount - 1` were deleted (a lost game).
    event OutputsDeleted(uint256 indexed fromIndex, uint256 previousCount);
    /// @notice Proposals below `checkpoint` are final and their bonds are released.
    event Checkpointed(uint256 checkpoint);
    /// @notice `amount` wei was credited to `account`.
    event Credited(address indexed account, uint256 amount);
    /// @notice `account` withdrew `amount` wei of credit.
    event CreditClaimed(address indexed account, uint256 amount);
    /// @notice The dispute game factory changed.
    event DisputeGameFactoryUpdated(address indexed factory);

    /// @notice The caller is not the SystemConfig proposer.
    error NotProposer();
    /// @notice Challenging is restricted and the caller is not the SystemConfig challenger.
    error NotChallenger();
    /// @notice The caller is not the SystemConfig owner.
    error NotOwner();
    /// @notice `msg.value` is not exactly the required bond.
    error IncorrectBond(uint256 sent, uint256 required);
    /// @notice A proposal must be for exactly `nextBlockNumber()`.
    error UnexpectedBlockNumber(uint256 l2BlockNumber, uint256 expected);
    /// @notice The L2 block's timestamp is still in the future.
    error BlockInFuture(uint256 l2BlockNumber, uint256 l2Timestamp);
    /// @notice The zero output root is never valid.
    error EmptyOutputRoot();
    /// @notice No proposal at this index.
    error OutputNotFound(uint256 index);
    /// @notice A challenge is already open on this proposal.
    error AlreadyChallenged(uint256 index);
    /// @notice The proposal's challenge window has closed.
    error ChallengeWindowClosed(uint256 index);
    /// @notice No dispute game factory is configured yet.
    error DisputeGameFactoryNotSet();
    /// @notice The factory returned the zero address.
    error InvalidGame();
    /// @notice `resolve` on a proposal without an open challenge.
    error NoOpenChallenge(uint256 index);
    /// @notice The game has not been decided yet.
    error GameNotResolved(uint256 index);
    /// @notice No proposal is final yet.
    error NoFinalizedOutput();
    /// @notice The caller has no credit to claim.
    error NoCredit();
    /// @notice Sending credit to the caller failed (the credit is kept).
    error CreditTransferFailed();
    /// @notice A parameter that must be positive is zero, or a bond does not fit in 96 bits.
    error InvalidParameter();

    /// @notice The implementation itself can never be initialized; only proxies can.
    constructor() {
        _disableInitializers();
    }

    /// @notice Sets the oracle's parameters (see `OutputOracleInit`).
    function initialize(OutputOracleInit calldata init) external initializer {
        if (
            init.systemConfig == address(0) || init.proposalInterval == 0 || init.l2BlockTimeMs == 0
                || init.challengeWindow == 0 || init.challengeWindow > type(uint32).max
                || init.proposalBond > type(uint96).max || init.challengeBond > type(uint96).max
        ) revert InvalidParameter();
        systemConfig = SystemConfig(init.systemConfig);
        disputeGameFactory = IDisputeGameFactory(init.disputeGameFactory);
        emit DisputeGameFactoryUpdated(init.disputeGameFactory);
        proposalInterval = init.proposalInterval;
        l2BlockTimeMs = init.l2BlockTimeMs;
        genesisL2Timestamp = init.genesisL2Timestamp;
        startingBlockNumber = init.startingBlockNumber;
        startingOutputRoot = init.startingOutputRoot;
        challengeWindow = init.challengeWindow;
        proposalBond = init.proposalBond;
        challengeBond = init.challengeBond;
    }

    // ------------------------------------------------------------------ proposer

    /// @notice Proposes `outputRoot` as the output of L2 block `l2BlockNumber`, locking the bond.
    /// @dev Only the SystemConfig proposer; only for `nextBlockNumber()`; only once that block's
    ///      timestamp is not in the future.
    function propose(uint256 l2BlockNumber, bytes32 outputRoot) external payable nonReentrant {
        if (msg.sender != systemConfig.proposer()) revert NotProposer();
        if (msg.value != proposalBond) revert IncorrectBond(msg.value, proposalBond);
        if (outputRoot == bytes32(0)) revert EmptyOutputRoot();
        uint256 expected = nextBlockNumber();
        if (l2BlockNumber != expected) revert UnexpectedBlockNumber(l2BlockNumber, expected);
        uint256 l2Timestamp = computeL2Timestamp(l2BlockNumber);
        if (l2Timestamp > block.timestamp) revert BlockInFuture(l2BlockNumber, l2Timestamp);
        // A block number that passed the timestamp test is below 2^64 for any block time >= 1 ms.

        // Keep finality bookkeeping moving with the chain, so `isFinalized` scans stay short and
        // bonds flow back without separate transactions (at most two steps: bounded gas).
        _advanceCheckpoint(PROPOSE_CHECKPOINT_STEPS);

        uint256 index = _proposals.length;
        _proposals.push(
            Proposal({
                outputRoot: outputRoot,
                proposer: msg.sender,
                // forge-lint: disable-next-line(unsafe-typecast) -- checked in the timestamp test above
                l2BlockNumber: uint64(l2BlockNumber),
                proposedAt: uint64(block.timestamp),
                // forge-lint: disable-next-line(unsafe-typecast) -- window < 2^32 (initialize)
                challengeDeadline: uint64(block.timestamp + challengeWindow),
                bond: uint96(msg.value),
                game: IDisputeGame(address(0)),
                challengerBond: 0,
                challenger: address(0)
            })
        );
        emit OutputProposed(outputRoot, index, l2BlockNumber, block.timestamp);
    }

    // ------------------------------------------------------------------ disputes

    /// @notice Challenges proposal `index`, locking the bond and opening a dispute game.
    /// @dev Allowed while the proposal's challenge window is open and no other challenge is open
    ///      on it; restricted to the SystemConfig challenger unless that is zero.
    /// @return game The dispute game created by the factory.
    function challenge(uint256 index) external payable nonReentrant returns (IDisputeGame game) {
        if (index >= _proposals.length) revert OutputNotFound(index);
        address allowed = systemConfig.challenger();
        if (allowed != address(0) && msg.sender != allowed) revert NotChallenger();
        if (msg.value != challengeBond) revert IncorrectBond(msg.value, challengeBond);
        Proposal storage p = _proposals[index];
        if (address(p.game) != address(0)) revert AlreadyChallenged(index);
        if (block.timestamp >= p.challengeDeadline) revert ChallengeWindowClosed(index);
        IDisputeGameFactory factory = disputeGameFactory;
        if (address(factory) == address(0)) revert DisputeGameFactoryNotSet();

        (uint256 startBlock, bytes32 startRoot) = index == 0
            ? (startingBlockNumber, startingOutputRoot)
            : (uint256(_proposals[index - 1].l2BlockNumber), _proposals[index - 1].outputRoot);
        game = factory.create(
            GameParams({
                outputIndex: index,
                defender: p.proposer,
                challenger: msg.sender,
                startingBlockNumber: startBlock,
                startingOutputRoot: startRoot,
                disputedBlockNumber: p.l2BlockNumber,
                disputedOutputRoot: p.outputRoot
            })
        );
        if (address(game) == address(0)) revert InvalidGame();
        p.game = game;
        p.challenger = msg.sender;
        p.challengerBond = uint96(msg.value);
        emit OutputChallenged(index, msg.sender, address(game));
    }

    /// @notice Applies the outcome of the game open on proposal `index`; callable by anyone.
    /// @dev CHALLENGER_WINS: both bonds to the challenger, the proposal and all later ones deleted
    ///      (their bonds refunded). DEFENDER_WINS: the challenger bond to the proposer and a fresh
    ///      challenge window. IN_PROGRESS: reverts.
    function resolve(uint256 index) external nonReentrant {
        if (index >= _proposals.length) revert OutputNotFound(index);
        Proposal storage p = _proposals[index];
        IDisputeGame game = p.game;
        if (address(game) == address(0)) revert NoOpenChallenge(index);
        GameStatus status = game.status();
        if (status == GameStatus.IN_PROGRESS) revert GameNotResolved(index);
        emit ChallengeResolved(index, address(game), status);

        if (status == GameStatus.CHALLENGER_WINS) {
            _credit(p.challenger, uint256(p.bond) + p.challengerBond);
            p.bond = 0;
            p.challengerBond = 0;
            _deleteFrom(index);
        } else {
            _credit(p.proposer, p.challengerBond);
            p.game = IDisputeGame(address(0));
            p.challenger = address(0);
            p.challengerBond = 0;
            // forge-lint: disable-next-line(unsafe-typecast) -- window < 2^32 (initialize)
            p.challengeDeadline = uint64(block.timestamp + challengeWindow);
        }
    }

    /// @notice Sets the dispute game factory (SystemConfig owner only), e.g. when the dispute
    ///         game is first deployed or replaced. Open games keep their addresses.
    function setDisputeGameFactory(address factory) external {
        if (msg.sender != systemConfig.owner()) revert NotOwner();
        disputeGameFactory = IDisputeGameFactory(factory);
        emit DisputeGameFactoryUpdated(factory);
    }

    // ------------------------------------------------------------------ bonds

    /// @notice Marks up to `maxSteps` further proposals final and credits their proposers' bonds.
    /// @return checkpoint The new number of proposals known final.
    function checkpoint(uint256 maxSteps) external nonReentrant returns (uint256) {
        return _advanceCheckpoint(maxSteps);
    }

    /// @notice Sends the caller all of its credit.
    function claimCredit() external nonReentrant {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NoCredit();
        credit[msg.sender] = 0;
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert CreditTransferFailed();
        emit CreditClaimed(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @notice Number of live proposals.
    function outputCount() external view returns (uint256) {
        return _proposals.length;
    }

    /// @notice Proposal `index`; reverts `OutputNotFound` if there is none.
    function getOutput(uint256 index) external view returns (Proposal memory) {
        if (index >= _proposals.length) revert OutputNotFound(index);
        return _proposals[index];
    }

    /// @notice Output root of proposal `index`, or zero when there is none (a proposed root is
    ///         never zero). One storage read: what the Portal checks proofs against.
    function outputRootAt(uint256 index) external view returns (bytes32) {
        if (index >= _proposals.length) return bytes32(0);
        return _proposals[index].outputRoot;
    }

    /// @notice Whether proposal `index` exists and is final (it can no longer change).
    /// @dev Scans from `finalizedCheckpoint` to `index`.
    function isFinalized(uint256 index) public view returns (bool) {
        if (index >= _proposals.length) return false;
        for (uint256 k = finalizedCheckpoint; k <= index; ++k) {
            if (!_settled(_proposals[k])) return false;
        }
        return true;
    }

    /// @notice Number of leading proposals that are final (0 = none).
    function finalizedCount() public view returns (uint256 count) {
        count = finalizedCheckpoint;
        uint256 end = _proposals.length;
        while (count < end && _settled(_proposals[count])) {
            ++count;
        }
    }

    /// @notice Index of the latest final proposal; reverts `NoFinalizedOutput` if none is final.
    function latestFinalizedIndex() external view returns (uint256) {
        uint256 count = finalizedCount();
        if (count == 0) revert NoFinalizedOutput();
        return count - 1;
    }

    /// @notice The latest final output: the latest final proposal, or the starting output when
    ///         none is final yet (it is the trusted anchor either way).
    function latestFinalizedOutput() external view returns (uint256 l2BlockNumber, bytes32 outputRoot) {
        uint256 count = finalizedCount();
        if (count == 0) return (startingBlockNumber, startingOutputRoot);
        Proposal storage p = _proposals[count - 1];
        return (p.l2BlockNumber, p.outputRoot);
    }

    /// @notice L2 block of the latest live proposal (the starting block when there is none).
    function latestBlockNumber() public view returns (uint256) {
        uint256 n = _proposals.length;
        return n == 0 ? startingBlockNumber : _proposals[n - 1].l2BlockNumber;
    }

    /// @notice L2 block the next proposal must be for.
    function nextBlockNumber() public view returns (uint256) {
        return latestBlockNumber() + proposalInterval;
    }

    /// @notice Timestamp (seconds) of L2 block `l2BlockNumber`:
    ///         genesisL2Timestamp + l2BlockNumber * l2BlockTimeMs / 1000 (rounded down).
    function computeL2Timestamp(uint256 l2BlockNumber) public view returns (uint256) {
        return genesisL2Timestamp + (l2BlockNumber * l2BlockTimeMs) / 1000;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Moves `finalizedCheckpoint` over up to `maxSteps` proposals that are final, crediting
    ///      each one's proposer bond.
    function _advanceCheckpoint(uint256 maxSteps) private returns (uint256 cp) {
        cp = finalizedCheckpoint;
        uint256 end = _proposals.length;
        for (uint256 steps; steps < maxSteps && cp < end; ++steps) {
            Proposal storage p = _proposals[cp];
            if (!_settled(p)) break;
            uint256 bond = p.bond;
            if (bond != 0) {
                p.bond = 0;
                _credit(p.proposer, bond);
            }
            ++cp;
        }
        if (cp != finalizedCheckpoint) {
            finalizedCheckpoint = cp;
            emit Checkpointed(cp);
        }
    }

    /// @dev A proposal whose own window has passed with no open challenge.
    function _settled(Proposal storage p) private view returns (bool) {
        return address(p.game) == address(0) && block.timestamp >= p.challengeDeadline;
    }

    /// @dev Deletes proposals `index..end`, refunding the bonds still held for them.
    function _deleteFrom(uint256 index) private {
        uint256 previousCount = _proposals.length;
        for (uint256 k = previousCount; k > index;) {
            --k;
            Proposal storage p = _proposals[k];
            if (p.bond != 0) _credit(p.proposer, p.bond);
            if (p.challengerBond != 0) _credit(p.challenger, p.challengerBond);
            _proposals.pop();
        }
        emit OutputsDeleted(index, previousCount);
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        credit[account] += amount;
        emit Credited(account, amount);
    }
}
