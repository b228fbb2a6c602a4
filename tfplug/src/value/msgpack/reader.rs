//! A bounds-checked cursor over msgpack bytes: markers, lengths and payloads, never trusting a length.

use rmp::Marker;

/// What the reader found where it stopped; turned into a `ValueError` by the decoder, which
/// knows the path.
pub(super) type ReadResult<T> = Result<T, String>;

pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(super) fn peek_marker(&self) -> ReadResult<Marker> {
        self.buf
            .get(self.pos)
            .map(|b| Marker::from_u8(*b))
            .ok_or_else(|| "unexpected end of msgpack data".to_string())
    }

    pub(super) fn read_marker(&mut self) -> ReadResult<Marker> {
        let m = self.peek_marker()?;
        self.pos += 1;
        Ok(m)
    }

    /// Takes `n` bytes; a length larger than what is left fails here instead of allocating.
    pub(super) fn take(&mut self, n: usize) -> ReadResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(format!(
                "msgpack data truncated: {n} bytes needed, {} left",
                self.remaining()
            ));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn take_array<const N: usize>(&mut self) -> ReadResult<[u8; N]> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(super) fn u8(&mut self) -> ReadResult<u8> {
        Ok(self.take_array::<1>()?[0])
    }

    pub(super) fn u16(&mut self) -> ReadResult<u16> {
        Ok(u16::from_be_bytes(self.take_array()?))
    }

    pub(super) fn u32(&mut self) -> ReadResult<u32> {
        Ok(u32::from_be_bytes(self.take_array()?))
    }

    pub(super) fn u64(&mut self) -> ReadResult<u64> {
        Ok(u64::from_be_bytes(self.take_array()?))
    }

    /// Skips the payload of an ext value whose marker was just read.
    pub(super) fn skip_ext(&mut self, marker: Marker) -> ReadResult<()> {
        let len = match marker {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => usize::from(self.u8()?),
            Marker::Ext16 => usize::from(self.u16()?),
            Marker::Ext32 => self.u32()? as usize,
            other => return Err(format!("{} is not an ext value", describe(other))),
        };
        // The type code byte, then the payload (a refinement map for ext 12, ignored).
        self.take(1 + len)?;
        Ok(())
    }

    /// The bytes of a str or bin value whose marker was just read.
    pub(super) fn str_or_bin(&mut self, marker: Marker) -> ReadResult<&'a [u8]> {
        let len = match marker {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 | Marker::Bin8 => usize::from(self.u8()?),
            Marker::Str16 | Marker::Bin16 => usize::from(self.u16()?),
            Marker::Str32 | Marker::Bin32 => self.u32()? as usize,
            other => return Err(format!("expected a string, found {}", describe(other))),
        };
        self.take(len)
    }

    /// The element count of an array whose marker was just read.
    pub(super) fn array_len(&mut self, marker: Marker) -> ReadResult<usize> {
        match marker {
            Marker::FixArray(n) => Ok(usize::from(n)),
            Marker::Array16 => Ok(usize::from(self.u16()?)),
            Marker::Array32 => Ok(self.u32()? as usize),
            other => Err(format!("expected an array, found {}", describe(other))),
        }
    }

    /// The entry count of a map whose marker was just read.
    pub(super) fn map_len(&mut self, marker: Marker) -> ReadResult<usize> {
        match marker {
            Marker::FixMap(n) => Ok(usize::from(n)),
            Marker::Map16 => Ok(usize::from(self.u16()?)),
            Marker::Map32 => Ok(self.u32()? as usize),
            other => Err(format!("expected a map, found {}", describe(other))),
        }
    }
}

/// The ext markers as one pattern, so that `is_ext` and `describe` (whose match must stay
/// exhaustive) cannot disagree on them.
macro_rules! ext_marker {
    () => {
        Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32
    };
}

pub(super) fn is_ext(marker: Marker) -> bool {
    matches!(marker, ext_marker!())
}

/// A msgpack marker in words, for error messages.
pub(super) fn describe(marker: Marker) -> &'static str {
    match marker {
        Marker::Null => "nil",
        Marker::True | Marker::False => "a bool",
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64 => "an integer",
        Marker::F32 | Marker::F64 => "a float",
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "a string",
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "binary data",
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "an array",
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "a map",
        ext_marker!() => "an ext value",
        Marker::Reserved => "the reserved byte 0xc1",
    }
}
