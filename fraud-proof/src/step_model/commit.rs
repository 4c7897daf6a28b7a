//! `MachineState::commitment`: a deterministic hash of everything that determines the rest of
//! the transaction's execution (encoding in `contracts/DISPUTE.md`, "Phase 2 groundwork").
//!
//! Why: a future bisection inside one transaction would have both parties post these hashes
//! after step k and let L1 re-execute the single disputed step; every field a later step can
//! read must be covered, and the encoding must be fixed byte for byte.

use alloy_primitives::{keccak256, B256, U256};

use super::{Frame, MachineState, Phase};

/// Version byte of the encoding below (2: the block context ends with the parent hash, which
/// fixes every BLOCKHASH answer).
pub const COMMITMENT_VERSION: u8 = 2;

fn word(out: &mut Vec<u8>, value: U256) {
    out.extend_from_slice(&value.to_be_bytes::<32>());
}

fn frame_hash(f: &Frame) -> B256 {
    let mut out = Vec::with_capacity(400);
    out.push(u8::from(f.is_create) | (u8::from(f.is_static) << 1));
    out.extend_from_slice(f.caller.as_slice());
    out.extend_from_slice(f.target.as_slice());
    word(&mut out, f.value);
    out.extend_from_slice(f.code_hash.as_slice());
    out.extend_from_slice(keccak256(&f.input).as_slice());
    out.extend_from_slice(&(f.pc as u64).to_be_bytes());
    out.extend_from_slice(&f.gas.to_be_bytes());
    out.extend_from_slice(&f.refund.to_be_bytes());
    out.extend_from_slice(&(f.stack.len() as u16).to_be_bytes());
    let mut stack = Vec::with_capacity(32 * f.stack.len());
    for item in &f.stack {
        word(&mut stack, *item);
    }
    out.extend_from_slice(keccak256(&stack).as_slice());
    out.extend_from_slice(&(f.memory.len() as u64).to_be_bytes());
    out.extend_from_slice(keccak256(&f.memory).as_slice());
    out.extend_from_slice(keccak256(&f.return_data).as_slice());
    out.extend_from_slice(keccak256(&f.output).as_slice());
    out.extend_from_slice(&(f.checkpoint as u64).to_be_bytes());
    out.extend_from_slice(f.logs_checkpoint.as_slice());
    word(&mut out, f.ret_offset);
    word(&mut out, f.ret_size);
    out.push(f.halted.map_or(0, |halt| halt.code()));
    keccak256(&out)
}

impl MachineState {
    /// The commitment to this machine state (see the module documentation).
    pub fn commitment(&self) -> B256 {
        let mut ctx = Vec::with_capacity(256);
        word(&mut ctx, U256::from(self.config.chain_id));
        word(&mut ctx, self.ctx.number);
        word(&mut ctx, self.ctx.timestamp);
        ctx.extend_from_slice(self.ctx.coinbase.as_slice());
        word(&mut ctx, self.ctx.gas_limit);
        word(&mut ctx, self.ctx.base_fee);
        ctx.extend_from_slice(self.ctx.prev_randao.as_slice());
        ctx.extend_from_slice(self.config.base_fee_vault.as_slice());
        ctx.extend_from_slice(self.config.l1_fee_vault.as_slice());
        ctx.extend_from_slice(self.ctx.parent_hash.as_slice());

        let mut accounts = Vec::new();
        for a in &self.accounts {
            accounts.extend_from_slice(a.address.as_slice());
            accounts.extend_from_slice(&a.nonce.to_be_bytes());
            word(&mut accounts, a.balance);
            accounts.extend_from_slice(a.code_hash.as_slice());
            accounts.push(
                u8::from(a.touched)
                    | (u8::from(a.created) << 1)
                    | (u8::from(a.destructed) << 2)
                    | (u8::from(a.existed) << 3)
                    | (u8::from(a.deployed.is_some()) << 4),
            );
        }
        let mut slots = Vec::new();
        for s in &self.slots {
            slots.extend_from_slice(s.address.as_slice());
            word(&mut slots, s.key);
            word(&mut slots, s.original);
            word(&mut slots, s.current);
        }
        let mut transient = Vec::new();
        for (address, key, value) in &self.transient {
            transient.extend_from_slice(address.as_slice());
            word(&mut transient, *key);
            word(&mut transient, *value);
        }
        let mut warm_accounts = Vec::new();
        for address in &self.warm_accounts {
            warm_accounts.extend_from_slice(address.as_slice());
        }
        let mut warm_slots = Vec::new();
        for (address, key) in &self.warm_slots {
            warm_slots.extend_from_slice(address.as_slice());
            word(&mut warm_slots, *key);
        }
        let mut journal = Vec::new();
        for entry in &self.journal {
            entry.encode(&mut journal);
        }
        let mut frames = Vec::new();
        for frame in &self.frames {
            frames.extend_from_slice(frame_hash(frame).as_slice());
        }
        let result = match &self.phase {
            Phase::Running => B256::ZERO,
            Phase::Finished(r) => {
                let mut out = Vec::new();
                out.push(u8::from(r.success));
                out.extend_from_slice(&r.gas_used.to_be_bytes());
                out.extend_from_slice(r.logs_acc.as_slice());
                for a in &r.accounts {
                    out.extend_from_slice(a.address.as_slice());
                    out.push(u8::from(a.deleted) | (u8::from(a.storage_cleared) << 1));
                    out.extend_from_slice(&a.nonce.to_be_bytes());
                    word(&mut out, a.balance);
                    out.extend_from_slice(a.code_hash.as_slice());
                }
                for s in &r.slots {
                    out.extend_from_slice(s.address.as_slice());
                    word(&mut out, s.slot);
                    word(&mut out, s.value);
                }
                keccak256(&out)
            }
        };

        let mut preimage = Vec::with_capacity(1 + 32 * 14);
        preimage.push(COMMITMENT_VERSION);
        preimage.extend_from_slice(self.pre_state_root.as_slice());
        preimage.extend_from_slice(self.tx_hash.as_slice());
        preimage.extend_from_slice(keccak256(&ctx).as_slice());
        word(&mut preimage, self.gas_price);
        word(&mut preimage, self.l1_fee);
        for part in [
            &accounts,
            &slots,
            &transient,
            &warm_accounts,
            &warm_slots,
            &journal,
        ] {
            preimage.extend_from_slice(keccak256(part).as_slice());
        }
        preimage.extend_from_slice(self.logs_acc.as_slice());
        preimage.extend_from_slice(keccak256(&frames).as_slice());
        preimage.extend_from_slice(result.as_slice());
        keccak256(&preimage)
    }
}
