// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title L1Block
/// @notice L2 predeploy (at 0x4200000000000000000000000000000000000015) holding the L1 origin of
///         the current L2 block (design §2). The first transaction of every L2 block is the
///         L1-info deposit, a system deposit from `DEPOSITOR` that calls `setL1BlockValuesV3`, so
///         L2 contracts can read which L1 block the chain has seen, and the L1 data fee can be
///         priced from that block's base fee and blob base fee.
/// @dev The calldata is packed, not ABI-encoded (specified in the Rust crate
///      `parallax-protocol`, module `l1_info`): 188 bytes, big-endian, no padding, so the
///      deposit stays small in every batch:
///        [0, 4)     selector 0xc058103c = bytes4(keccak256("setL1BlockValuesV3()"))
///        [4, 12)    number          (uint64)
///        [12, 20)   timestamp       (uint64)
///        [20, 52)   basefee         (uint256)
///        [52, 84)   blobBaseFee     (uint256)
///        [84, 116)  hash            (bytes32)
///        [116, 124) sequenceNumber  (uint64)
///        [124, 156) batcherHash     (bytes32)
///        [156, 160) baseFeeScalar   (uint32)
///        [160, 164) blobBaseFeeScalar (uint32)
///        [164, 172) gasLimit        (uint64)
///        [172, 176) eip1559Elasticity  (uint32)
///        [176, 180) eip1559Denominator (uint32)
///        [180, 188) minBaseFee      (uint64)
///      A new layout gets a new selector, so this function never has to guess which one it got.
///
///      Storage layout — fixed, the Rust node may read these slots directly:
///        slot 0: number (uint64, bytes 0-7) | timestamp (uint64, bytes 8-15)
///                | sequenceNumber (uint64, bytes 16-23)
///        slot 1: basefee (uint256)
///        slot 2: blobBaseFee (uint256)
///        slot 3: hash (bytes32)
///        slot 4: batcherHash (bytes32)
///        slot 5: baseFeeScalar (uint32, bytes 0-3) | blobBaseFeeScalar (uint32, bytes 4-7)
///                | gasLimit (uint64, bytes 8-15) | eip1559Elasticity (uint32, bytes 16-19)
///                | eip1559Denominator (uint32, bytes 20-23) | minBaseFee (uint64, bytes 24-31)
///      (byte offsets count from the low-order end of the slot, as solc packs them). The three
///      64-bit fields share a slot so a block's update costs six storage writes, not nine. The
///      L1 fee scalars are here (as on the OP Stack since Ecotone) so every input of a
///      transaction's L1 data fee is in the L2 state: a one-step proof needs nothing else.
///      The L2 block's gas limit and base-fee rules share slot 5 for the same reason: the
///      dispute game checks a header's gas limit and base fee against this slot of the block's
///      post-state (`DisputeGame.proveHeaderInvalid`), and its mixHash against slot 3.
///      New fields are only ever appended.
contract L1Block {
    /// @notice The only sender allowed to write: the L1-info depositor. No key exists for it;
    ///         only derivation creates its deposits.
    address public constant DEPOSITOR = 0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001;

    /// @notice Length of the packed calldata of `setL1BlockValuesV3`, selector included.
    uint256 public constant CALLDATA_LENGTH = 188;

    /// @notice Version of this contract's interface and calldata layout.
    string public constant version = "3.0.0";

    /// @notice L1 origin block number.
    uint64 public number;
    /// @notice L1 origin timestamp (seconds).
    uint64 public timestamp;
    /// @notice Position of the current L2 block within its epoch (0 = first block of the origin).
    uint64 public sequenceNumber;
    /// @notice L1 origin base fee (wei).
    uint256 public basefee;
    /// @notice L1 origin blob base fee (wei).
    uint256 public blobBaseFee;
    /// @notice L1 origin block hash.
    bytes32 public hash;
    /// @notice The batcher in force at the origin, left-padded to 32 bytes.
    bytes32 public batcherHash;
    /// @notice L1 data fee scalar applied to the L1 base fee (SystemConfig, at the origin).
    uint32 public baseFeeScalar;
    /// @notice L1 data fee scalar applied to the L1 blob base fee (SystemConfig, at the origin).
    uint32 public blobBaseFeeScalar;
    /// @notice Gas limit of the current L2 block (SystemConfig, at the origin).
    uint64 public gasLimit;
    /// @notice EIP-1559 elasticity of the current L2 block's base fee (SystemConfig, at the origin).
    uint32 public eip1559Elasticity;
    /// @notice EIP-1559 denominator of the current L2 block's base fee (SystemConfig, at the origin).
    uint32 public eip1559Denominator;
    /// @notice Floor of the L2 base fee (rollup config).
    uint64 public minBaseFee;

    /// @notice The caller is not the L1-info depositor.
    error NotDepositor(address sender);
    /// @notice The calldata is not exactly `CALLDATA_LENGTH` bytes.
    error InvalidCalldataLength(uint256 length);

    /// @notice Records the L1 origin of the L2 block being built; called once at the start of
    ///         every L2 block by the L1-info deposit. Takes no ABI parameters: the values follow
    ///         the selector packed (see the contract docs), so the call is not ABI-encoded.
    function setL1BlockValuesV3() external {
        if (msg.sender != DEPOSITOR) revert NotDepositor(msg.sender);
        if (msg.data.length != CALLDATA_LENGTH) revert InvalidCalldataLength(msg.data.length);
        number = uint64(bytes8(msg.data[4:12]));
        timestamp = uint64(bytes8(msg.data[12:20]));
        basefee = uint256(bytes32(msg.data[20:52]));
        blobBaseFee = uint256(bytes32(msg.data[52:84]));
        hash = bytes32(msg.data[84:116]);
        sequenceNumber = uint64(bytes8(msg.data[116:124]));
        batcherHash = bytes32(msg.data[124:156]);
        baseFeeScalar = uint32(bytes4(msg.data[156:160]));
        blobBaseFeeScalar = uint32(bytes4(msg.data[160:164]));
        gasLimit = uint64(bytes8(msg.data[164:172]));
        eip1559Elasticity = uint32(bytes4(msg.data[172:176]));
        eip1559Denominator = uint32(bytes4(msg.data[176:180]));
        minBaseFee = uint64(bytes8(msg.data[180:188]));
    }
}
