//! Packing inbox payloads into EIP-4844 blobs.
//!
//! A blob is 4096 field elements of 32 bytes, each (big-endian) below the BLS12-381 scalar
//! modulus. Every element's first byte is kept `0x00`, which guarantees that, and its other 31
//! bytes carry data: 4096 × 31 = 126,976 usable bytes, read element by element in order.
//!
//! The usable bytes hold `version:u8 = 0 ‖ len:u32 ‖ data[len] ‖ zero padding`. Decoding rejects a
//! non-zero high byte, an unknown version, a length past the usable space and non-zero padding,
//! so one encoding exists per payload and garbage never decodes.

/// Bytes in a blob.
pub const BYTES_PER_BLOB: usize = 131_072;
/// Field elements in a blob.
pub const FIELD_ELEMENTS_PER_BLOB: usize = 4096;
/// Data bytes per field element (the first of its 32 stays zero).
const USABLE_PER_ELEMENT: usize = 31;
/// Usable bytes per blob: 131072 × 31 / 32.
pub const USABLE_BYTES_PER_BLOB: usize = FIELD_ELEMENTS_PER_BLOB * USABLE_PER_ELEMENT;
/// Version byte of this packing.
pub const BLOB_ENCODING_VERSION: u8 = 0;
/// Header in the usable bytes: version + u32 length.
const HEADER_LEN: usize = 5;
/// Largest payload one blob carries: 126,971 bytes.
pub const MAX_BLOB_DATA_LEN: usize = USABLE_BYTES_PER_BLOB - HEADER_LEN;

/// Data that does not fit or bytes that are not a blob of this encoding.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// Payload larger than [`MAX_BLOB_DATA_LEN`].
    #[error("{0} bytes do not fit in a blob (max 126971)")]
    TooLarge(usize),
    /// Input is not 131,072 bytes.
    #[error("blob is {0} bytes, expected 131072")]
    WrongSize(usize),
    /// A field element with a non-zero first byte.
    #[error("field element {0} has a non-zero high byte")]
    HighByte(usize),
    /// Unknown encoding version.
    #[error("unknown blob encoding version {0}")]
    UnknownVersion(u8),
    /// Declared length beyond the usable space.
    #[error("declared length {0} exceeds the blob")]
    BadLength(u32),
    /// Non-zero bytes after the data.
    #[error("non-zero padding after the data")]
    DirtyPadding,
}

/// Packs `data` into one blob.
pub fn encode_blob(data: &[u8]) -> Result<Vec<u8>, BlobError> {
    if data.len() > MAX_BLOB_DATA_LEN {
        return Err(BlobError::TooLarge(data.len()));
    }
    let mut usable = Vec::with_capacity(USABLE_BYTES_PER_BLOB);
    usable.push(BLOB_ENCODING_VERSION);
    // Bounded by MAX_BLOB_DATA_LEN above.
    let len = u32::try_from(data.len()).map_err(|_| BlobError::TooLarge(data.len()))?;
    usable.extend_from_slice(&len.to_be_bytes());
    usable.extend_from_slice(data);
    usable.resize(USABLE_BYTES_PER_BLOB, 0);
    let mut blob = vec![0u8; BYTES_PER_BLOB];
    for (element, chunk) in blob
        .chunks_exact_mut(32)
        .zip(usable.chunks_exact(USABLE_PER_ELEMENT))
    {
        element[1..].copy_from_slice(chunk);
    }
    Ok(blob)
}

/// Unpacks a blob made by [`encode_blob`].
pub fn decode_blob(blob: &[u8]) -> Result<Vec<u8>, BlobError> {
    if blob.len() != BYTES_PER_BLOB {
        return Err(BlobError::WrongSize(blob.len()));
    }
    let mut usable = Vec::with_capacity(USABLE_BYTES_PER_BLOB);
    for (index, element) in blob.chunks_exact(32).enumerate() {
        if element[0] != 0 {
            return Err(BlobError::HighByte(index));
        }
        usable.extend_from_slice(&element[1..]);
    }
    if usable[0] != BLOB_ENCODING_VERSION {
        return Err(BlobError::UnknownVersion(usable[0]));
    }
    let len = u32::from_be_bytes([usable[1], usable[2], usable[3], usable[4]]);
    let end = usize::try_from(len)
        .ok()
        .and_then(|len| HEADER_LEN.checked_add(len))
        .filter(|&end| end <= USABLE_BYTES_PER_BLOB)
        .ok_or(BlobError::BadLength(len))?;
    if usable[end..].iter().any(|&b| b != 0) {
        return Err(BlobError::DirtyPadding);
    }
    usable.truncate(end);
    usable.drain(..HEADER_LEN);
    Ok(usable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes() {
        assert_eq!(USABLE_BYTES_PER_BLOB, BYTES_PER_BLOB * 31 / 32);
        assert_eq!(MAX_BLOB_DATA_LEN, 126_971);
        let full = vec![0xffu8; MAX_BLOB_DATA_LEN];
        let blob = encode_blob(&full).expect("fits");
        assert!(blob.chunks(32).all(|e| e[0] == 0));
        assert_eq!(decode_blob(&blob), Ok(full));
        assert_eq!(
            encode_blob(&vec![0; MAX_BLOB_DATA_LEN + 1]),
            Err(BlobError::TooLarge(MAX_BLOB_DATA_LEN + 1))
        );
    }

    #[test]
    fn rejects_garbage() {
        let blob = encode_blob(b"hello").expect("fits");
        assert_eq!(
            decode_blob(&blob[1..]),
            Err(BlobError::WrongSize(BYTES_PER_BLOB - 1))
        );
        let mut high = blob.clone();
        high[64] = 1;
        assert_eq!(decode_blob(&high), Err(BlobError::HighByte(2)));
        let mut version = blob.clone();
        version[1] = 1;
        assert_eq!(decode_blob(&version), Err(BlobError::UnknownVersion(1)));
        let mut length = blob.clone();
        length[2] = 0xff;
        assert!(matches!(decode_blob(&length), Err(BlobError::BadLength(_))));
        let mut padding = blob.clone();
        padding[BYTES_PER_BLOB - 1] = 1;
        assert_eq!(decode_blob(&padding), Err(BlobError::DirtyPadding));
        assert_eq!(decode_blob(&vec![0; BYTES_PER_BLOB]), Ok(vec![]));
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..3000), offset in 0usize..120_000) {
            // Place the data at an arbitrary offset in a zero payload so element boundaries vary.
            let mut payload = vec![0u8; offset.min(MAX_BLOB_DATA_LEN - data.len())];
            payload.extend_from_slice(&data);
            let blob = encode_blob(&payload).expect("fits");
            prop_assert_eq!(decode_blob(&blob), Ok(payload));
        }

        #[test]
        fn garbage_never_panics(
            seed in proptest::collection::vec(any::<u8>(), 1..64),
            zero_high in any::<bool>(),
        ) {
            let mut blob: Vec<u8> = seed.iter().cycle().take(BYTES_PER_BLOB).copied().collect();
            if zero_high {
                for element in blob.chunks_mut(32) {
                    element[0] = 0;
                }
            }
            let _ = decode_blob(&blob);
        }
    }
}
