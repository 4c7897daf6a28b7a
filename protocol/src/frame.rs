//! Frames and batch-inbox payloads (design §5).
//!
//! A frame is a slice of a channel's data:
//! `channel_id:16 ‖ frame_number:u16 ‖ len:u32 ‖ data[len] ‖ is_last:u8`, integers big-endian,
//! `is_last` exactly `0` or `1`. Frame numbers count from 0; the frame with `is_last = 1` is the
//! channel's final one.
//!
//! Inbox payloads (the calldata of a batcher transaction, one blob's decoded data, or a Celestia
//! blob) start with a version byte:
//! - `0x00 ‖ frame ‖ frame ‖ …` — at least one frame, nothing after the last. A payload with any
//!   malformed frame is ignored as a whole.
//! - `0x01 ‖ height:u64 ‖ commitment:32` — calldata only, exactly 41 bytes: a pointer to a
//!   Celestia blob (in the rollup's namespace) whose content is itself a `0x00` payload.

use alloy_primitives::{Bytes, B128, B256};

use crate::channel::ChannelId;

/// Bytes a frame adds around its data: id 16 + number 2 + length 4 + is_last 1.
pub const FRAME_OVERHEAD: usize = 23;

/// Version byte of a payload made of frames.
pub const FRAMES_PAYLOAD_VERSION: u8 = 0x00;

/// Version byte of a Celestia pointer.
pub const CELESTIA_POINTER_VERSION: u8 = 0x01;

/// Size of a Celestia pointer payload: version + height + commitment.
pub const CELESTIA_POINTER_LEN: usize = 41;

/// Largest calldata payload the batcher posts (design §5): keeps a batcher tx well under L1's
/// 128 KiB transaction size limit.
pub const MAX_CALLDATA_PAYLOAD: usize = 120_000;

/// One slice of a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The channel this frame belongs to.
    pub channel_id: ChannelId,
    /// Position within the channel, from 0.
    pub number: u16,
    /// The slice of channel data.
    pub data: Bytes,
    /// Whether this is the channel's final frame.
    pub is_last: bool,
}

/// Malformed frame bytes or an impossible split.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Input ends inside a frame.
    #[error("frame truncated")]
    Truncated,
    /// `is_last` is neither 0 nor 1.
    #[error("is_last byte {0:#04x} is not 0 or 1")]
    BadIsLast(u8),
    /// A payload without any frame.
    #[error("payload has no frames")]
    NoFrames,
    /// A payload version this node does not know.
    #[error("unknown payload version {0:#04x}")]
    UnknownVersion(u8),
    /// A Celestia pointer of the wrong length.
    #[error("celestia pointer is {0} bytes, expected 41")]
    PointerLength(usize),
    /// `max_payload` leaves no room for frame data.
    #[error("max payload {0} leaves no room for frame data")]
    PayloadTooSmall(usize),
    /// The channel needs more than 65,536 frames at this payload size.
    #[error("channel needs more than 65536 frames")]
    TooManyFrames,
}

impl Frame {
    /// Encoded size.
    pub fn encoded_len(&self) -> usize {
        FRAME_OVERHEAD + self.data.len()
    }

    /// Appends the frame's encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_slice());
        out.extend_from_slice(&self.number.to_be_bytes());
        // Frame data comes from a payload, far below 4 GiB.
        let len = u32::try_from(self.data.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.data);
        out.push(u8::from(self.is_last));
    }

    /// Decodes one frame from the front of `buf`, advancing it.
    pub fn decode(buf: &mut &[u8]) -> Result<Self, FrameError> {
        let input = *buf;
        if input.len() < FRAME_OVERHEAD {
            return Err(FrameError::Truncated);
        }
        let channel_id = B128::from_slice(&input[..16]);
        let number = u16::from_be_bytes([input[16], input[17]]);
        let len = u32::from_be_bytes([input[18], input[19], input[20], input[21]]);
        let len = usize::try_from(len).map_err(|_| FrameError::Truncated)?;
        let rest = &input[22..];
        if rest.len() <= len {
            return Err(FrameError::Truncated);
        }
        let is_last = match rest[len] {
            0 => false,
            1 => true,
            other => return Err(FrameError::BadIsLast(other)),
        };
        let frame = Self {
            channel_id,
            number,
            data: Bytes::copy_from_slice(&rest[..len]),
            is_last,
        };
        *buf = &rest[len + 1..];
        Ok(frame)
    }
}

/// `0x00 ‖ frames`: the payload of a calldata tx, a blob or a Celestia blob.
pub fn encode_frames_payload(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + frames.iter().map(Frame::encoded_len).sum::<usize>());
    out.push(FRAMES_PAYLOAD_VERSION);
    for frame in frames {
        frame.encode_into(&mut out);
    }
    out
}

/// Parses a `0x00` payload: every frame valid or none taken.
pub fn parse_frames_payload(payload: &[u8]) -> Result<Vec<Frame>, FrameError> {
    let (&version, mut rest) = payload.split_first().ok_or(FrameError::NoFrames)?;
    if version != FRAMES_PAYLOAD_VERSION {
        return Err(FrameError::UnknownVersion(version));
    }
    if rest.is_empty() {
        return Err(FrameError::NoFrames);
    }
    let mut frames = Vec::new();
    while !rest.is_empty() {
        frames.push(Frame::decode(&mut rest)?);
    }
    Ok(frames)
}

/// Where a Celestia blob holding frames lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CelestiaPointer {
    /// Celestia block height.
    pub height: u64,
    /// The blob's share commitment.
    pub commitment: B256,
}

impl CelestiaPointer {
    /// `0x01 ‖ height:u64 ‖ commitment:32`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CELESTIA_POINTER_LEN);
        out.push(CELESTIA_POINTER_VERSION);
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(self.commitment.as_slice());
        out
    }

    /// Strict inverse of [`encode`](Self::encode).
    pub fn decode(payload: &[u8]) -> Result<Self, FrameError> {
        let payload: &[u8; CELESTIA_POINTER_LEN] = payload
            .try_into()
            .map_err(|_| FrameError::PointerLength(payload.len()))?;
        if payload[0] != CELESTIA_POINTER_VERSION {
            return Err(FrameError::UnknownVersion(payload[0]));
        }
        let mut height = [0u8; 8];
        height.copy_from_slice(&payload[1..9]);
        Ok(Self {
            height: u64::from_be_bytes(height),
            commitment: B256::from_slice(&payload[9..]),
        })
    }
}

/// What a batcher transaction's calldata holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CalldataPayload {
    /// Frames directly (`0x00 ‖ frames`), kept unparsed.
    Frames(Bytes),
    /// A pointer to frames on Celestia.
    Celestia(CelestiaPointer),
}

impl CalldataPayload {
    /// Classifies calldata by its version byte.
    pub fn parse(calldata: &Bytes) -> Result<Self, FrameError> {
        match calldata.first() {
            Some(&FRAMES_PAYLOAD_VERSION) => Ok(Self::Frames(calldata.clone())),
            Some(&CELESTIA_POINTER_VERSION) => {
                CelestiaPointer::decode(calldata).map(Self::Celestia)
            }
            Some(&other) => Err(FrameError::UnknownVersion(other)),
            None => Err(FrameError::NoFrames),
        }
    }
}

/// Splits channel data into frames whose payload (`0x00 ‖ frame`) is at most `max_payload`
/// bytes, the last one flagged `is_last`. Empty data still gives one (empty, last) frame.
pub fn split_channel(
    id: ChannelId,
    data: &[u8],
    max_payload: usize,
) -> Result<Vec<Frame>, FrameError> {
    let chunk = max_payload
        .checked_sub(1 + FRAME_OVERHEAD)
        .filter(|&n| n > 0)
        .ok_or(FrameError::PayloadTooSmall(max_payload))?;
    let count = data.len().div_ceil(chunk).max(1);
    if count > usize::from(u16::MAX) + 1 {
        return Err(FrameError::TooManyFrames);
    }
    let mut frames = Vec::with_capacity(count);
    for index in 0..count {
        let start = index * chunk;
        let end = (start + chunk).min(data.len());
        frames.push(Frame {
            channel_id: id,
            number: u16::try_from(index).map_err(|_| FrameError::TooManyFrames)?,
            data: Bytes::copy_from_slice(&data[start..end]),
            is_last: index + 1 == count,
        });
    }
    Ok(frames)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout() {
        let frame = Frame {
            channel_id: B128::repeat_byte(0xcc),
            number: 0x0102,
            data: Bytes::from_static(b"xyz"),
            is_last: true,
        };
        let payload = encode_frames_payload(std::slice::from_ref(&frame));
        let mut expected = vec![0x00];
        expected.extend_from_slice(&[0xcc; 16]);
        expected.extend_from_slice(&[0x01, 0x02, 0, 0, 0, 3]);
        expected.extend_from_slice(b"xyz");
        expected.push(1);
        assert_eq!(payload, expected);
        assert_eq!(parse_frames_payload(&payload), Ok(vec![frame]));
        assert_eq!(parse_frames_payload(&[0]), Err(FrameError::NoFrames));
        assert_eq!(
            parse_frames_payload(&payload[..payload.len() - 1]),
            Err(FrameError::Truncated)
        );
        let mut bad_last = payload.clone();
        *bad_last.last_mut().expect("non-empty") = 2;
        assert_eq!(
            parse_frames_payload(&bad_last),
            Err(FrameError::BadIsLast(2))
        );
        // One good frame followed by garbage drops the whole payload.
        let mut trailing = payload.clone();
        trailing.push(0);
        assert_eq!(parse_frames_payload(&trailing), Err(FrameError::Truncated));
    }

    #[test]
    fn celestia_pointer_layout() {
        let pointer = CelestiaPointer {
            height: 0x0a0b,
            commitment: B256::repeat_byte(0xee),
        };
        let bytes = pointer.encode();
        assert_eq!(bytes.len(), CELESTIA_POINTER_LEN);
        assert_eq!(&bytes[..9], &[1, 0, 0, 0, 0, 0, 0, 0x0a, 0x0b]);
        assert_eq!(CelestiaPointer::decode(&bytes), Ok(pointer));
        assert_eq!(
            CalldataPayload::parse(&bytes.clone().into()),
            Ok(CalldataPayload::Celestia(pointer))
        );
        assert_eq!(
            CelestiaPointer::decode(&bytes[..40]),
            Err(FrameError::PointerLength(40))
        );
        assert_eq!(
            CalldataPayload::parse(&Bytes::from_static(&[7])),
            Err(FrameError::UnknownVersion(7))
        );
    }

    #[test]
    fn splitting_respects_the_payload_size() {
        let data = vec![5u8; 1000];
        let frames = split_channel(B128::ZERO, &data, 124).expect("fits");
        assert_eq!(frames.len(), 10);
        assert!(frames.iter().all(|f| f.encoded_len() < 124));
        assert!(frames[9].is_last && !frames[8].is_last);
        assert_eq!(
            split_channel(B128::ZERO, &data, 24),
            Err(FrameError::PayloadTooSmall(24))
        );
        assert_eq!(
            split_channel(B128::ZERO, &vec![0; 70_000], 25),
            Err(FrameError::TooManyFrames)
        );
        let empty = split_channel(B128::ZERO, &[], 100).expect("one frame");
        assert_eq!(empty.len(), 1);
        assert!(empty[0].is_last && empty[0].data.is_empty());
    }

    proptest! {
        #[test]
        fn split_and_parse_round_trip(
            data in proptest::collection::vec(any::<u8>(), 0..5000),
            max_payload in 25usize..2000,
            id in any::<[u8; 16]>(),
        ) {
            let frames = split_channel(B128::from(id), &data, max_payload).expect("split");
            let mut joined = Vec::new();
            for (i, frame) in frames.iter().enumerate() {
                let payload = encode_frames_payload(std::slice::from_ref(frame));
                prop_assert!(payload.len() <= max_payload);
                let parsed = parse_frames_payload(&payload).expect("parses");
                prop_assert_eq!(&parsed, &vec![frame.clone()]);
                prop_assert_eq!(usize::from(frame.number), i);
                joined.extend_from_slice(&frame.data);
            }
            prop_assert_eq!(joined, data);
        }

        #[test]
        fn celestia_pointer_round_trips(height in any::<u64>(), commitment in any::<[u8; 32]>()) {
            let pointer = CelestiaPointer { height, commitment: B256::from(commitment) };
            let bytes = pointer.encode();
            prop_assert_eq!(bytes.len(), CELESTIA_POINTER_LEN);
            prop_assert_eq!(CelestiaPointer::decode(&bytes), Ok(pointer));
            prop_assert_eq!(
                CalldataPayload::parse(&bytes.into()),
                Ok(CalldataPayload::Celestia(pointer))
            );
        }

        #[test]
        fn arbitrary_pointer_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            // Any length, with the pointer's version byte first: decodes exactly when it is 41
            // bytes long, and then re-encodes to the same bytes.
            let mut pointer = vec![CELESTIA_POINTER_VERSION];
            pointer.extend_from_slice(&bytes);
            match CelestiaPointer::decode(&pointer) {
                Ok(decoded) => {
                    prop_assert_eq!(pointer.len(), CELESTIA_POINTER_LEN);
                    prop_assert_eq!(decoded.encode(), pointer.clone());
                }
                Err(error) => {
                    prop_assert_ne!(pointer.len(), CELESTIA_POINTER_LEN);
                    prop_assert_eq!(error, FrameError::PointerLength(pointer.len()));
                }
            }
            prop_assert_eq!(
                CalldataPayload::parse(&pointer.clone().into()).is_ok(),
                pointer.len() == CELESTIA_POINTER_LEN
            );
            let _ = CelestiaPointer::decode(&bytes);
        }

        #[test]
        fn garbage_payloads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_frames_payload(&bytes);
            let _ = CalldataPayload::parse(&bytes.clone().into());
            let mut versioned = vec![FRAMES_PAYLOAD_VERSION];
            versioned.extend_from_slice(&bytes);
            if let Ok(frames) = parse_frames_payload(&versioned) {
                prop_assert_eq!(encode_frames_payload(&frames), versioned);
            }
        }
    }
}
