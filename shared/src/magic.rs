//! libmagic as python-magic 0.4.27 calls it: `magic.from_buffer(data, mime=True)`.
//!
//! Manuel's shared `file_security.py` names an upload's type by `magic.from_buffer`, and that
//! name reaches the client (`"File type audio/x-wav not allowed"`). libmagic's database decides
//! it — thousands of rules (WAV is `audio/x-wav`, 256 bytes 0..=255 are `image/x-tga`) — so the
//! port asks the same library rather than imitating it: no pure-Rust detector gives the same
//! names. The library is opened at run time (`dlopen`, as ctypes does), so the binary links
//! nothing and a function package ships `libmagic.so.1` beside the bootstrap.
//!
//! What python-magic does, and this module with it: `magic_open(MAGIC_MIME_TYPE)`,
//! `magic_load(cookie, NULL)` (the default database, or `$MAGIC`), then — when the library has
//! `magic_setparam` — `MAGIC_PARAM_NAME_MAX` = 64 (an error there is ignored), and per buffer
//! `magic_buffer`. A NULL answer with no error message is `application/octet-stream` (its
//! "5.09 bug" workaround); with a message it is a `MagicException`. The text is decoded as
//! UTF-8 with backslash escapes for bad bytes.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Mutex;

const MAGIC_MIME_TYPE: c_int = 0x10;
const MAGIC_PARAM_NAME_MAX: c_int = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MagicError {
    /// python-magic's import fails: `ImportError: failed to find libmagic.  Check your installation`.
    #[error("failed to find libmagic.  Check your installation")]
    NotFound,
    /// `MagicException` (from `magic_open`, `magic_load` or `magic_buffer`), with libmagic's message.
    #[error("{0}")]
    Magic(String),
}

type OpenFn = unsafe extern "C" fn(c_int) -> *mut c_void;
type LoadFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;
type BufferFn = unsafe extern "C" fn(*mut c_void, *const c_void, usize) -> *const c_char;
type ErrorFn = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type SetParamFn = unsafe extern "C" fn(*mut c_void, c_int, *const c_void) -> c_int;
type CloseFn = unsafe extern "C" fn(*mut c_void);

/// The loaded library (python-magic's module import).
pub struct Library {
    lib: libloading::Library,
}

/// The library names python-magic's loader tries on Linux, after a copy shipped beside the
/// executable (`lib/libmagic.so.1`, where a Lambda package puts it).
fn candidates() -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            v.push(dir.join("lib").join("libmagic.so.1"));
        }
    }
    v.push("libmagic.so.1".into());
    v.push("libmagic.so".into());
    v
}

/// Is a path one to try as it is (a file beside the executable) or by name (the linker's search)?
fn usable(p: &std::path::Path) -> bool {
    p.components().count() == 1 || p.is_file()
}

impl Library {
    /// Open libmagic as python-magic's import does; `NotFound` when no candidate loads.
    pub fn load() -> Result<Self, MagicError> {
        for c in candidates().into_iter().filter(|p| usable(p)) {
            // SAFETY: libmagic's initialisers have no preconditions; the symbols used below
            // are looked up with the signatures of magic.h.
            if let Ok(lib) = unsafe { libloading::Library::new(&c) } {
                let has_core = unsafe {
                    lib.get::<OpenFn>(b"magic_open\0").is_ok()
                        && lib.get::<BufferFn>(b"magic_buffer\0").is_ok()
                };
                if has_core {
                    return Ok(Self { lib });
                }
            }
        }
        Err(MagicError::NotFound)
    }

    /// `Magic(mime=True)`: open and load the default database.
    pub fn mime(&self) -> Result<Magic<'_>, MagicError> {
        // SAFETY: the signatures are those of magic.h; the cookie is used only through this
        // library, which outlives it (the borrow), and only under the mutex.
        unsafe {
            let open = self.symbol::<OpenFn>(b"magic_open\0")?;
            let load = self.symbol::<LoadFn>(b"magic_load\0")?;
            let cookie = open(MAGIC_MIME_TYPE);
            if cookie.is_null() {
                return Err(MagicError::Magic("magic_open failed".into()));
            }
            let m = Magic {
                lib: self,
                cookie: Mutex::new(Cookie(cookie)),
            };
            if load(cookie, std::ptr::null()) == -1 {
                return Err(MagicError::Magic(m.error_text().unwrap_or_default()));
            }
            if let Ok(set) = self.symbol::<SetParamFn>(b"magic_setparam\0") {
                let v: usize = 64;
                let _ = set(
                    cookie,
                    MAGIC_PARAM_NAME_MAX,
                    (&v as *const usize).cast::<c_void>(),
                );
            }
            Ok(m)
        }
    }

    unsafe fn symbol<T: Copy>(&self, name: &[u8]) -> Result<T, MagicError> {
        self.lib
            .get::<T>(name)
            .map(|s| *s)
            .map_err(|e| MagicError::Magic(e.to_string()))
    }
}

struct Cookie(*mut c_void);
// SAFETY: a libmagic cookie may move between threads; it is only used under the mutex.
unsafe impl Send for Cookie {}

/// An opened, loaded cookie (`magic.Magic`).
pub struct Magic<'l> {
    lib: &'l Library,
    cookie: Mutex<Cookie>,
}

impl Magic<'_> {
    fn error_text(&self) -> Option<String> {
        let cookie = self.cookie.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: magic_error returns NULL or a string owned by the cookie, copied at once.
        unsafe {
            let error = self.lib.symbol::<ErrorFn>(b"magic_error\0").ok()?;
            let p = error(cookie.0);
            (!p.is_null()).then(|| decode(CStr::from_ptr(p).to_bytes()))
        }
    }

    /// `from_buffer(data)`: the MIME type, or the `MagicException` python-magic raises.
    pub fn from_buffer(&self, data: &[u8]) -> Result<String, MagicError> {
        let answer = {
            let cookie = self.cookie.lock().unwrap_or_else(|p| p.into_inner());
            // SAFETY: the buffer outlives the call; the answer is copied before the lock ends.
            unsafe {
                let buffer = self.lib.symbol::<BufferFn>(b"magic_buffer\0")?;
                let p = buffer(cookie.0, data.as_ptr().cast(), data.len());
                (!p.is_null()).then(|| decode(CStr::from_ptr(p).to_bytes()))
            }
        };
        match answer {
            Some(t) => Ok(t),
            None => match self.error_text() {
                None => Ok("application/octet-stream".into()),
                Some(e) => Err(MagicError::Magic(e)),
            },
        }
    }
}

impl Drop for Magic<'_> {
    fn drop(&mut self) {
        let cookie = self.cookie.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: the cookie came from magic_open of this library and is closed once.
        unsafe {
            if let Ok(close) = self.lib.symbol::<CloseFn>(b"magic_close\0") {
                close(cookie.0);
            }
        }
    }
}

/// `bytes.decode("utf-8", "backslashreplace")`.
pub fn decode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_bytes_are_escaped_as_python_does() {
        assert_eq!(decode(b"text/plain"), "text/plain");
        assert_eq!(decode(b"a\xffb\xc3"), "a\\xffb\\xc3");
        assert_eq!(decode("é".as_bytes()), "é");
    }

    /// The answers python-magic gave on this machine's libmagic (5.44) for the same bytes
    /// (measured with .layers/file-security; see scripts/setup.sh).
    #[test]
    fn the_system_library_names_types_as_python_magic_does() {
        let lib = Library::load().expect("libmagic (scripts/setup.sh installs libmagic1)");
        let m = lib.mime().expect("the default database loads");
        let mut wav = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00".to_vec();
        wav.extend([0u8; 64]);
        for (data, want) in [
            (&b""[..], "application/x-empty"),
            (b"hello world", "text/plain"),
            (b"{\"a\":1}", "application/json"),
            (b"%PDF-1.4\n", "application/pdf"),
            (&wav, "audio/x-wav"),
        ] {
            assert_eq!(m.from_buffer(data).unwrap(), want, "{data:?}");
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(m.from_buffer(&all).unwrap(), "image/x-tga");
    }
}
