//! Reading npz files (zip archives of `.npy` arrays) with every error checked: a truncated or
//! corrupt file, an unknown dtype, a shape that does not match the bytes, each is an error naming
//! the file and the array, never a panic, and no buffer is sized by a header before the header
//! has been checked against the file.
use anyhow::{Context, Result, bail, ensure};
use std::io::Read;
use std::path::Path;
use tch::{Kind, Tensor};

/// The largest ratio deflate can reach (about 1032:1), rounded up: an entry that claims to
/// expand further is corrupt or hostile.
const MAX_DEFLATE_RATIO: u64 = 1100;

/// Every array of the npz file `path`, by name (without `.npy`), in archive order.
pub fn read_npz(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .with_context(|| format!("{}: not a readable npz (zip) file", path.display()))?;
    let mut arrays = Vec::with_capacity(zip.len().min(1024));
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .with_context(|| format!("{}: cannot read entry {i}", path.display()))?;
        let name = entry.name().to_string();
        let limit = entry.compressed_size().saturating_mul(MAX_DEFLATE_RATIO) + 4096;
        let tensor = read_npy(&mut entry, limit)
            .with_context(|| format!("{}: array {name:?}", path.display()))?;
        let name = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        arrays.push((name, tensor));
    }
    Ok(arrays)
}

/// The header of an npy array: element kind and size, and shape.
struct Header {
    kind: Kind,
    item_size: u64,
    shape: Vec<i64>,
}

/// One `.npy` array from `reader`, whose bytes may not exceed `limit`.
fn read_npy(reader: &mut impl Read, limit: u64) -> Result<Tensor> {
    let header = parse_header(&read_header_text(reader)?)?;
    let count = header
        .shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .context("the shape's element count overflows")?;
    let bytes = count
        .checked_mul(header.item_size)
        .context("the array's byte size overflows")?;
    ensure!(
        bytes <= limit,
        "the header announces {bytes} bytes, more than the file can hold ({limit})"
    );
    // Grows with the bytes actually read, never to the announced size up front.
    let mut data = Vec::new();
    reader
        .take(bytes + 1)
        .read_to_end(&mut data)
        .context("cannot read the array's data")?;
    ensure!(
        data.len() as u64 == bytes,
        "shape {:?} needs {bytes} bytes, the file holds {}",
        header.shape,
        data.len()
    );
    Tensor::f_from_data_size(&data, &header.shape, header.kind)
        .map_err(|e| anyhow::anyhow!("cannot make a tensor of it: {e}"))
}

/// The magic, version and header dictionary text of an npy stream.
fn read_header_text(reader: &mut impl Read) -> Result<String> {
    let mut magic = [0u8; 8];
    reader
        .read_exact(&mut magic)
        .context("too short for an npy header")?;
    ensure!(&magic[..6] == b"\x93NUMPY", "not an npy array (bad magic)");
    let len = match magic[6] {
        1 => {
            let mut b = [0u8; 2];
            reader.read_exact(&mut b).context("truncated npy header")?;
            u16::from_le_bytes(b) as usize
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            reader.read_exact(&mut b).context("truncated npy header")?;
            u32::from_le_bytes(b) as usize
        }
        v => bail!("npy format version {v} is not supported"),
    };
    ensure!(
        len <= 65_536,
        "an npy header of {len} bytes is not plausible"
    );
    let mut text = vec![0u8; len];
    reader
        .read_exact(&mut text)
        .context("truncated npy header")?;
    String::from_utf8(text).context("the npy header is not text")
}

/// The value of `key` in a header like
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`: the text after `'key':` up to the
/// next top-level comma or brace.
fn field<'a>(header: &'a str, key: &str) -> Result<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .with_context(|| format!("the npy header has no {key}: {header:?}"))?;
    let rest = header[at + key.len() + 2..].trim_start();
    let rest = rest
        .strip_prefix(':')
        .with_context(|| format!("malformed npy header: {header:?}"))?
        .trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')').map(|i| i + 1)
    } else {
        rest.find([',', '}'])
    };
    Ok(rest[..end.with_context(|| format!("malformed npy header: {header:?}"))?].trim())
}

fn parse_header(header: &str) -> Result<Header> {
    let descr = field(header, "descr")?.trim_matches('\'');
    let (kind, item_size) = match descr {
        "<f4" | "=f4" => (Kind::Float, 4),
        "<f8" | "=f8" => (Kind::Double, 8),
        "<i8" | "=i8" => (Kind::Int64, 8),
        "<i4" | "=i4" => (Kind::Int, 4),
        "<i2" | "=i2" => (Kind::Int16, 2),
        "|i1" | "<i1" => (Kind::Int8, 1),
        "|u1" | "<u1" => (Kind::Uint8, 1),
        "|b1" => (Kind::Bool, 1),
        other => bail!(
            "unsupported dtype {other:?} (expected little-endian f4, f8, i8, i4, i2, i1, u1 or b1)"
        ),
    };
    match field(header, "fortran_order")? {
        "False" => {}
        "True" => bail!("Fortran-ordered arrays are not supported"),
        other => bail!("fortran_order is {other:?}, not a boolean"),
    }
    let shape = field(header, "shape")?;
    let dims = shape
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .with_context(|| format!("the shape {shape:?} is not a tuple"))?;
    let shape = dims
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            d.parse::<i64>()
                .ok()
                .filter(|&n| n >= 0)
                .with_context(|| format!("the dimension {d:?} is not a size"))
        })
        .collect::<Result<Vec<i64>>>()?;
    Ok(Header {
        kind,
        item_size,
        shape,
    })
}
