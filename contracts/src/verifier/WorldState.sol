// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {RLPItem, RLPReader} from "../lib/RLPReader.sol";
import {RLPWriter} from "../lib/RLPWriter.sol";
import {MemoryMap} from "./MemoryMap.sol";
import {MptDb} from "./MptDb.sol";

/// @notice An Ethereum account as the step verifier sees it.
/// @dev `exists` distinguishes an absent account (then nonce 0, balance 0, empty storage root and
///      empty code hash) from a present one; `setAccount` with `exists = false` deletes.
struct Account {
    uint64 nonce;
    uint256 balance;
    bytes32 storageRoot;
    bytes32 codeHash;
    bool exists;
}

/// @title WorldState
/// @notice The Ethereum world state over a witness of trie nodes, for the one-step proof verifier:
///         reads accounts and slots, buffers writes, and computes the post-state root.
/// @dev Why buffered: a transaction writes the same account and slot many times; only the final
///      values reach the tries, once, in `stateRoot`. Writes are applied in a canonical order
///      (storage tries first, each account's slot writes sorted by hashed slot; then the account
///      trie sorted by hashed address), and writes that leave a value as it was in the trie are
///      skipped. Why: which nodes a sequence of MPT deletes needs depends on the order of
///      operations, and the Rust witness builder (`parallax_fraud_proof::witness`) knows only the
///      final values, not the order the EVM wrote them in; with the same canonical order on both
///      sides the witness holds exactly the nodes this library reads.
///      Secure tries: account key keccak256(address), slot key keccak256(bytes32 slot); account
///      leaf = RLP [nonce, balance, storageRoot, codeHash]; slot leaf = RLP of the minimal
///      big-endian value. `getAccount(...).storageRoot` is the root as of the last `stateRoot`
///      (pending slot writes are not hashed until then); the `storageRoot` given to `setAccount`
///      is ignored, the library tracks it. Deleting an account drops its storage: slots read as 0
///      afterwards, and a re-created account starts from the empty storage trie.
library WorldState {
    using RLPReader for RLPItem;

    /// @notice Root of the empty trie: keccak256(0x80).
    bytes32 internal constant EMPTY_ROOT = MptDb.EMPTY_ROOT;
    /// @notice Code hash of an account without code: keccak256("").
    bytes32 internal constant EMPTY_CODE_HASH = 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;

    /// @notice An account leaf is not RLP [nonce < 2^64, balance, storageRoot, codeHash].
    error InvalidAccount();

    /// @notice The open state.
    struct DB {
        /// The trie nodes: witness plus every node written since `open`.
        MptDb.Store store;
        /// The state root as of `open` or the last `stateRoot`.
        bytes32 root;
        /// keccak256(address) -> AccountEntry pointer, for every account touched.
        MemoryMap.Map accounts;
        /// keccak256(address, slot) -> SlotEntry pointer, for every slot touched.
        MemoryMap.Map slots;
        /// Accounts written since the last `stateRoot` (a list through `AccountEntry.nextDirty`).
        uint256 dirtyHead;
        uint256 dirtyCount;
    }

    /// @dev A touched account: its value in the tries (`original`) and now (`current`).
    struct AccountEntry {
        bytes32 key;
        address addr;
        Account original;
        Account current;
        /// Root of the storage trie pending slot writes apply to (empty after a delete).
        bytes32 storageBase;
        /// Bumped when the account is deleted: slot entries of older generations are void.
        uint256 generation;
        /// Head of the list of this account's slot entries (SlotEntry pointer, 0 = none).
        uint256 slotsHead;
        /// On the DB's dirty list (written since the last `stateRoot`), and the next entry there.
        bool dirty;
        uint256 nextDirty;
    }

    /// @dev A touched slot.
    struct SlotEntry {
        bytes32 key;
        uint256 original;
        uint256 current;
        uint256 generation;
        uint256 next;
    }

    /// @notice Opens the state with root `root` over the witness `nodes` (RLP trie nodes, any order).
    function open(bytes32 root, bytes[] memory nodes) internal pure returns (DB memory db) {
        db.store = MptDb.create(nodes);
        db.root = root;
        db.accounts = MemoryMap.create(16);
        db.slots = MemoryMap.create(32);
    }

    /// @notice The current account at `a` (pending writes first); `exists = false` when absent.
    function getAccount(DB memory db, address a) internal pure returns (Account memory acct) {
        AccountEntry memory e = _account(db, a);
        Account memory c = e.current;
        acct = Account({
            nonce: c.nonce,
            balance: c.balance,
            storageRoot: c.exists ? e.storageBase : EMPTY_ROOT,
            codeHash: c.codeHash,
            exists: c.exists
        });
    }

    /// @notice The current value of slot `slot` of account `a` (pending writes first).
    function getStorage(DB memory db, address a, uint256 slot) internal pure returns (uint256) {
        return _slot(db, _account(db, a), a, slot).current;
    }

    /// @notice Sets account `a`; `exists = false` deletes it and its storage.
    /// @dev An absent account is always stored as the empty account, whatever the other fields say.
    function setAccount(DB memory db, address a, Account memory acct) internal pure {
        AccountEntry memory e = _account(db, a);
        _markDirty(db, e);
        if (!acct.exists) {
            e.current = _absent();
            e.storageBase = EMPTY_ROOT;
            e.generation += 1;
            return;
        }
        e.current = Account({
            nonce: acct.nonce, balance: acct.balance, storageRoot: e.storageBase, codeHash: acct.codeHash, exists: true
        });
    }

    /// @notice Sets slot `slot` of account `a`; 0 deletes the slot.
    function setStorage(DB memory db, address a, uint256 slot, uint256 value) internal pure {
        AccountEntry memory e = _account(db, a);
        _markDirty(db, e);
        _slot(db, e, a, slot).current = value;
    }

    /// @notice Applies all pending writes (storage tries first, then accounts) and returns the root.
    /// @dev May be called again after further writes; each call applies what changed since.
    function stateRoot(DB memory db) internal pure returns (bytes32) {
        uint256[] memory accts = _takeDirty(db);
        bytes32 root = db.root;
        for (uint256 i; i < accts.length; ++i) {
            AccountEntry memory e = _asAccount(accts[i]);
            bytes32 storageRoot = _applyStorage(db, e);
            Account memory c = e.current;
            Account memory o = e.original;
            if (c.exists) {
                c.storageRoot = storageRoot;
                bool same = o.exists && o.nonce == c.nonce && o.balance == c.balance && o.storageRoot == storageRoot
                    && o.codeHash == c.codeHash;
                if (!same) root = MptDb.put(db.store, root, abi.encodePacked(e.key), _encodeAccount(c));
            } else if (o.exists) {
                root = MptDb.put(db.store, root, abi.encodePacked(e.key), "");
            }
            (o.nonce, o.balance, o.storageRoot, o.codeHash, o.exists) =
            (c.nonce, c.balance, c.storageRoot, c.codeHash, c.exists);
        }
        db.root = root;
        return root;
    }

    /// @dev Applies the account's pending slot writes (sorted by key) to its storage trie and
    ///      returns the new storage root; marks the slots as committed.
    function _applyStorage(DB memory db, AccountEntry memory e) private pure returns (bytes32 root) {
        root = e.storageBase;
        if (!e.current.exists) return EMPTY_ROOT;
        uint256 n;
        for (uint256 p = e.slotsHead; p != 0; p = _asSlot(p).next) {
            n += 1;
        }
        uint256[] memory ptrs = new uint256[](n);
        n = 0;
        for (uint256 p = e.slotsHead; p != 0; p = _asSlot(p).next) {
            SlotEntry memory s = _asSlot(p);
            if (s.generation == e.generation && s.current != s.original) {
                ptrs[n] = p;
                n += 1;
            }
        }
        assembly ("memory-safe") {
            mstore(ptrs, n)
        }
        _sortByKey(ptrs);
        for (uint256 i; i < n; ++i) {
            SlotEntry memory s = _asSlot(ptrs[i]);
            bytes memory value = s.current == 0 ? bytes("") : RLPWriter.encodeUint(s.current);
            root = MptDb.put(db.store, root, abi.encodePacked(s.key), value);
            s.original = s.current;
        }
        e.storageBase = root;
    }

    /// @dev The entry for account `a`, loading it from the state trie on first touch.
    function _account(DB memory db, address a) private pure returns (AccountEntry memory e) {
        bytes32 key = keccak256(abi.encodePacked(a));
        (bool found, uint256 ptr) = MemoryMap.get(db.accounts, key);
        if (found) return _asAccount(ptr);
        Account memory acct = _absent();
        (bool exists, bytes memory encoded) = MptDb.get(db.store, db.root, abi.encodePacked(key));
        if (exists) acct = _decodeAccount(encoded);
        e = AccountEntry({
            key: key,
            addr: a,
            original: acct,
            current: Account(acct.nonce, acct.balance, acct.storageRoot, acct.codeHash, acct.exists),
            storageBase: acct.storageRoot,
            generation: 0,
            slotsHead: 0,
            dirty: false,
            nextDirty: 0
        });
        assembly ("memory-safe") {
            ptr := e
        }
        MemoryMap.set(db.accounts, key, ptr);
    }

    /// @dev The entry for slot `slot` of account `a` (entry `e`), loading it on first touch in
    ///      the account's current generation.
    function _slot(DB memory db, AccountEntry memory e, address a, uint256 slot)
        private
        pure
        returns (SlotEntry memory s)
    {
        bytes32 mapKey = keccak256(abi.encode(a, slot));
        (bool found, uint256 ptr) = MemoryMap.get(db.slots, mapKey);
        if (found) {
            s = _asSlot(ptr);
            if (s.generation == e.generation) return s;
            // The account was deleted since: the slot starts over from the empty storage trie.
            s.generation = e.generation;
            s.original = 0;
            s.current = 0;
            return s;
        }
        bytes32 key = keccak256(abi.encode(slot));
        uint256 value;
        // After a delete the base is the empty trie, so nothing is read.
        (bool exists, bytes memory encoded) = MptDb.get(db.store, e.storageBase, abi.encodePacked(key));
        if (exists) value = RLPReader.toItem(encoded).readUint256();
        s = SlotEntry({key: key, original: value, current: value, generation: e.generation, next: e.slotsHead});
        assembly ("memory-safe") {
            ptr := s
        }
        e.slotsHead = ptr;
        MemoryMap.set(db.slots, mapKey, ptr);
    }

    /// @dev Puts an account on the dirty list (once).
    function _markDirty(DB memory db, AccountEntry memory e) private pure {
        if (e.dirty) return;
        e.dirty = true;
        e.nextDirty = db.dirtyHead;
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := e
        }
        db.dirtyHead = ptr;
        db.dirtyCount += 1;
    }

    /// @dev The dirty accounts sorted by key, emptying the dirty list. Only these can have
    ///      writes: accounts that were only read are never revisited.
    function _takeDirty(DB memory db) private pure returns (uint256[] memory ptrs) {
        ptrs = new uint256[](db.dirtyCount);
        uint256 n;
        for (uint256 p = db.dirtyHead; p != 0;) {
            AccountEntry memory e = _asAccount(p);
            ptrs[n] = p;
            n += 1;
            e.dirty = false;
            p = e.nextDirty;
            e.nextDirty = 0;
        }
        db.dirtyHead = 0;
        db.dirtyCount = 0;
        _sortByKey(ptrs);
    }

    /// @dev Insertion sort of struct pointers by the struct's first word (few entries per proof).
    function _sortByKey(uint256[] memory ptrs) private pure {
        assembly ("memory-safe") {
            let n := mload(ptrs)
            let base := add(ptrs, 0x20)
            for { let i := 1 } lt(i, n) { i := add(i, 1) } {
                let p := mload(add(base, shl(5, i)))
                let k := mload(p)
                let j := i
                for {} gt(j, 0) { j := sub(j, 1) } {
                    let q := mload(add(base, shl(5, sub(j, 1))))
                    if iszero(gt(mload(q), k)) { break }
                    mstore(add(base, shl(5, j)), q)
                }
                mstore(add(base, shl(5, j)), p)
            }
        }
    }

    /// @dev RLP [nonce, balance, storageRoot, codeHash].
    function _encodeAccount(Account memory a) private pure returns (bytes memory) {
        bytes[] memory items = new bytes[](4);
        items[0] = RLPWriter.encodeUint(a.nonce);
        items[1] = RLPWriter.encodeUint(a.balance);
        items[2] = RLPWriter.encodeBytes32(a.storageRoot);
        items[3] = RLPWriter.encodeBytes32(a.codeHash);
        return RLPWriter.encodeList(items);
    }

    /// @dev Decodes an account leaf.
    function _decodeAccount(bytes memory encoded) private pure returns (Account memory a) {
        (RLPItem memory nonceItem, uint256 count) = MptDb.listElement(encoded, 0);
        if (count != 4) revert InvalidAccount();
        RLPItem memory balance = _next(nonceItem);
        RLPItem memory storageRoot = _next(balance);
        RLPItem memory codeHash = _next(storageRoot);
        uint256 nonce = nonceItem.readUint256();
        if (nonce > type(uint64).max) revert InvalidAccount();
        a = Account({
            // forge-lint: disable-next-line(unsafe-typecast) -- checked against 2^64 above
            nonce: uint64(nonce),
            balance: balance.readUint256(),
            storageRoot: storageRoot.readBytes32(),
            codeHash: codeHash.readBytes32(),
            exists: true
        });
    }

    /// @dev The element after `item` in a list already validated by `MptDb.listElement` (so it
    ///      lies inside the list); only short strings are accepted, which is all an account holds.
    function _next(RLPItem memory item) private pure returns (RLPItem memory next) {
        uint256 ptr = item.ptr + item.length;
        uint256 q;
        assembly ("memory-safe") {
            q := byte(0, mload(ptr))
        }
        if (q >= 0xb8) revert InvalidAccount();
        next = RLPItem(ptr, q <= 0x80 ? 1 : q - 0x7f);
    }

    /// @dev The absent account.
    function _absent() private pure returns (Account memory) {
        return Account({nonce: 0, balance: 0, storageRoot: EMPTY_ROOT, codeHash: EMPTY_CODE_HASH, exists: false});
    }

    function _asAccount(uint256 ptr) private pure returns (AccountEntry memory e) {
        assembly ("memory-safe") {
            e := ptr
        }
    }

    function _asSlot(uint256 ptr) private pure returns (SlotEntry memory s) {
        assembly ("memory-safe") {
            s := ptr
        }
    }
}
