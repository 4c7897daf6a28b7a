//! A tiny EVM assembler: opcodes, minimally sized pushes and named jump labels.
//!
//! Enough to write the benchmark contracts by hand, readably, without a Solidity compiler. Label
//! references are always `PUSH2` (contracts stay far below 64 KiB), so offsets are known while
//! emitting and resolved in one pass at the end.

use std::collections::HashMap;

use alloy_primitives::{Bytes, U256};
use parallax_executor::revm::bytecode::opcode as op;

/// Bytecode under construction.
#[derive(Debug, Default)]
pub(crate) struct Asm {
    code: Vec<u8>,
    labels: HashMap<&'static str, usize>,
    fixups: Vec<(usize, &'static str)>,
}

impl Asm {
    /// An empty program.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Emits opcodes without immediates (use [`Asm::push`] for `PUSHn`).
    pub(crate) fn ops(&mut self, opcodes: &[u8]) -> &mut Self {
        for &opcode in opcodes {
            debug_assert!(
                !(op::PUSH1..=op::PUSH32).contains(&opcode),
                "PUSHn needs an immediate: use Asm::push"
            );
            self.code.push(opcode);
        }
        self
    }

    /// Pushes `value` with the smallest `PUSHn` that holds it (`PUSH1 0` for zero, so the code
    /// also runs before Shanghai's `PUSH0`).
    pub(crate) fn push(&mut self, value: impl Word) -> &mut Self {
        let value = value.word();
        let bytes = value.to_be_bytes_trimmed_vec();
        if bytes.is_empty() {
            self.push_bytes(&[0])
        } else {
            self.push_bytes(&bytes)
        }
    }

    /// Pushes exactly `bytes` (1 to 32 of them) as one `PUSHn`.
    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) -> &mut Self {
        assert!((1..=32).contains(&bytes.len()), "PUSHn takes 1 to 32 bytes");
        self.code.push(op::PUSH1 + (bytes.len() as u8 - 1));
        self.code.extend_from_slice(bytes);
        self
    }

    /// Defines `name` here as a jump target (emits `JUMPDEST`).
    pub(crate) fn label(&mut self, name: &'static str) -> &mut Self {
        self.mark(name);
        self.code.push(op::JUMPDEST);
        self
    }

    /// Defines `name` as the current offset without emitting anything (for data offsets).
    pub(crate) fn mark(&mut self, name: &'static str) -> &mut Self {
        let previous = self.labels.insert(name, self.code.len());
        assert!(previous.is_none(), "label {name} defined twice");
        self
    }

    /// Pushes the offset of label `name` (`PUSH2`, resolved by [`Asm::assemble`]).
    pub(crate) fn push_label(&mut self, name: &'static str) -> &mut Self {
        self.code.push(op::PUSH2);
        self.fixups.push((self.code.len(), name));
        self.code.extend_from_slice(&[0, 0]);
        self
    }

    /// `JUMP` to `name`.
    #[allow(dead_code)] // the contracts only branch conditionally so far
    pub(crate) fn jump(&mut self, name: &'static str) -> &mut Self {
        self.push_label(name).ops(&[op::JUMP])
    }

    /// `JUMPI` to `name`: jumps when the top of the stack is non-zero (and pops it).
    pub(crate) fn jumpi(&mut self, name: &'static str) -> &mut Self {
        self.push_label(name).ops(&[op::JUMPI])
    }

    /// Appends raw bytes (e.g. a runtime after its init code).
    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.code.extend_from_slice(bytes);
        self
    }

    /// Current length of the code.
    pub(crate) fn len(&self) -> usize {
        self.code.len()
    }

    /// Resolves labels and returns the bytecode.
    ///
    /// # Panics
    /// On a reference to an undefined label or code above 64 KiB: both are bugs in the program
    /// being assembled (the contracts are fixed), never a consequence of user input.
    pub(crate) fn assemble(&mut self) -> Bytes {
        let mut code = self.code.clone();
        for &(at, name) in &self.fixups {
            let target = *self
                .labels
                .get(name)
                .unwrap_or_else(|| panic!("undefined label {name}"));
            let target = u16::try_from(target).expect("code above 64 KiB");
            code[at..at + 2].copy_from_slice(&target.to_be_bytes());
        }
        code.into()
    }
}

/// Anything that is a 256-bit stack word.
pub(crate) trait Word {
    /// The word.
    fn word(self) -> U256;
}

impl Word for u64 {
    fn word(self) -> U256 {
        U256::from(self)
    }
}

impl Word for U256 {
    fn word(self) -> U256 {
        self
    }
}

impl Word for alloy_primitives::B256 {
    fn word(self) -> U256 {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_are_minimal_and_labels_resolve() {
        let mut asm = Asm::new();
        asm.push(0u64)
            .push(0x1234u64)
            .jump("end")
            .ops(&[op::STOP])
            .label("end");
        let code = asm.assemble();
        assert_eq!(
            code.as_ref(),
            &[
                op::PUSH1,
                0,
                op::PUSH2,
                0x12,
                0x34,
                op::PUSH2,
                0,
                10,
                op::JUMP,
                op::STOP,
                op::JUMPDEST
            ]
        );
    }
}
