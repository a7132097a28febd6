//! Tests of finding MNIST: the places searched and the messages when none has the files,
//! `--data-dir` as the only place, the environment variables, verification of local copies
//! and the marker that remembers it.

use std::io::Write;
use std::time::Duration;

use super::download::is_loopback;
use super::marker::{MARKER_NAME, marker_paths, read_marker};
use super::*;
use crate::idx::sha256_hex;

fn offline(data_dir: Option<PathBuf>, env_dir: Option<PathBuf>, cache: &Path) -> MnistSource {
    MnistSource {
        data_dir,
        env_dir,
        cache_dir: Some(cache.to_path_buf()),
        mirrors: Vec::new(),
        download: false,
        verify_checksums: true,
        options: DownloadOptions::default(),
    }
}

/// Writes the four MNIST file names with tiny (valid IDX, wrong digest) contents.
fn write_fake_mnist(dir: &Path) {
    for spec in &MNIST_FILES {
        let bytes = if spec.name.contains("images") {
            crate::idx::encode_images(&[0u8; 784])
        } else {
            crate::idx::encode_labels(&[3])
        };
        fs::write(dir.join(spec.name), bytes).unwrap();
    }
}

#[test]
fn missing_data_lists_every_place_searched_and_the_fixes() {
    let tmp = tempfile::tempdir().unwrap();
    let env_dir = tmp.path().join("partial");
    fs::create_dir(&env_dir).unwrap();
    fs::write(env_dir.join("train-images-idx3-ubyte.gz"), b"x").unwrap();
    let cache = tmp.path().join("cache");
    let err = offline(None, Some(env_dir.clone()), &cache)
        .locate()
        .unwrap_err();
    let MnistError::MissingData { searched, download } = &err else {
        panic!("expected MissingData, got {err:?}");
    };
    assert_eq!(searched.len(), 3);
    assert_eq!(searched[0].source, "--data-dir");
    assert_eq!(searched[0].path, None);
    assert_eq!(searched[0].problem, "not given");
    assert_eq!(searched[1].source, "MNIST_DIR");
    assert_eq!(searched[1].path.as_deref(), Some(env_dir.as_path()));
    assert!(
        searched[1]
            .problem
            .contains("lacks train-labels-idx1-ubyte[.gz]")
    );
    assert!(!searched[1].problem.contains("train-images"));
    assert_eq!(searched[2].path.as_deref(), Some(cache.as_path()));
    assert_eq!(searched[2].problem, "does not exist");
    assert!(matches!(
        download.as_deref(),
        Some(MnistError::NotDownloaded { .. })
    ));
    let msg = err.to_string();
    eprintln!("{msg}");
    for needle in [
        "--data-dir: not given",
        env_dir.to_str().unwrap(),
        cache.to_str().unwrap(),
        "--data-dir DIR",
        "MNIST_DIR=DIR",
        "allow the download",
        "downloading is disabled",
    ] {
        assert!(msg.contains(needle), "{needle:?} missing from:\n{msg}");
    }

    let mut no_cache = offline(None, None, &cache);
    no_cache.cache_dir = None;
    no_cache.download = true;
    let msg = no_cache.locate().unwrap_err().to_string();
    assert!(msg.contains("--data-dir: not given"), "{msg}");
    assert!(msg.contains("MNIST_DIR: not set"), "{msg}");
    assert!(msg.contains("no cache directory to download into"), "{msg}");
}

#[test]
fn local_copies_are_verified_and_mismatches_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fs::create_dir(&data).unwrap();
    write_fake_mnist(&data);
    let cache = tmp.path().join("cache");
    let source = offline(Some(data.clone()), None, &cache);
    let err = source.locate().unwrap_err();
    // The fake file is shorter than the real one: reported as truncated, with both sizes.
    match &err {
        MnistError::Truncated {
            path,
            expected,
            actual,
        } => {
            assert_eq!(path, &data.join("train-images-idx3-ubyte"));
            assert_eq!(*expected, MNIST_FILES[0].len);
            assert_eq!(*actual, 16 + 784);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    // Without verification the same directory is accepted (MNIST-format data sets).
    let mut unverified = source.clone();
    unverified.verify_checksums = false;
    assert_eq!(unverified.locate().unwrap(), data);
    assert_eq!(unverified.load(MnistSplit::Test).unwrap().labels(), &[3]);
}

#[test]
fn checksum_mismatch_of_a_full_size_file_reports_both_digests() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = FileSpec {
        name: "blob",
        sha256: "00",
        len: 4,
    };
    fs::write(tmp.path().join("blob"), b"abcd").unwrap();
    let err = verify_dir(tmp.path(), &[spec], None).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, MnistError::ChecksumMismatch { file, actual, .. }
            if file == "blob" && actual == &sha256_hex(b"abcd")),
        "{err:?}"
    );
    assert!(msg.contains("checksum mismatch for blob from"), "{msg}");
    assert!(msg.contains("Delete or replace this file"), "{msg}");
}

#[test]
fn a_file_longer_than_published_is_rejected_without_reading_it_all() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = FileSpec {
        name: "blob",
        sha256: &sha256_hex(b"abcd"),
        len: 4,
    };
    fs::write(tmp.path().join("blob"), b"abcd").unwrap();
    verify_dir(tmp.path(), &[spec], None).unwrap();
    // One byte too many, then 64 MiB more, gzipped: reading stops one byte past the
    // published length, so the excess is never inflated.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(b"abcd").unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    fs::remove_file(tmp.path().join("blob")).unwrap();
    let path = tmp.path().join("blob.gz");
    fs::write(&path, enc.finish().unwrap()).unwrap();
    let err = verify_dir(tmp.path(), &[spec], None).unwrap_err();
    assert!(
        matches!(&err, MnistError::TrailingBytes { path: p, expected: 4, actual: 5 } if p == &path),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(path.to_str().unwrap()), "{msg}");
    assert!(msg.contains("at least 5"), "{msg}");
    let digested = crate::idx::digest_file(&path, 4).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(digested.len, 5);
    assert_eq!(digested.sha256, sha256_hex(b"abcd\0"));
}

#[test]
fn data_dir_is_the_only_place_searched() {
    let tmp = tempfile::tempdir().unwrap();
    // Complete (unverifiable, fake) copies in MNIST_DIR and in the cache: a fallback
    // would find them, so only an error naming the empty folder shows there is none.
    let env_dir = tmp.path().join("env");
    let cache = tmp.path().join("cache");
    for dir in [&env_dir, &cache] {
        fs::create_dir(dir).unwrap();
        write_fake_mnist(dir);
    }
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let mut source = offline(Some(empty.clone()), Some(env_dir.clone()), &cache);
    source.verify_checksums = false;
    // Without the flag, the fallback works as documented (MNIST_DIR first).
    let mut no_flag = source.clone();
    no_flag.data_dir = None;
    assert_eq!(no_flag.locate().unwrap(), env_dir);

    for dir in [empty.clone(), tmp.path().join("not-there")] {
        source.data_dir = Some(dir.clone());
        let err = source.locate().unwrap_err();
        let MnistError::MissingData { searched, download } = &err else {
            panic!("expected MissingData, got {err:?}");
        };
        assert_eq!(searched.len(), 1, "{searched:?}");
        assert_eq!(searched[0].source, "--data-dir");
        assert_eq!(searched[0].path.as_deref(), Some(dir.as_path()));
        assert!(matches!(
            download.as_deref(),
            Some(MnistError::NotDownloaded {
                reason: "downloading is disabled"
            })
        ));
        let msg = err.to_string();
        eprintln!("{msg}");
        assert!(msg.contains(dir.to_str().unwrap()), "{msg}");
        assert!(!msg.contains(env_dir.to_str().unwrap()), "{msg}");
        assert!(!msg.contains(cache.to_str().unwrap()), "{msg}");
        assert!(
            msg.contains("Only the folder given with --data-dir"),
            "{msg}"
        );
        assert!(source.load(MnistSplit::Test).is_err());
    }
    assert!(
        !tmp.path().join("not-there").exists(),
        "nothing is created without a download"
    );
    assert_eq!(
        fs::read_dir(&empty).unwrap().count(),
        0,
        "nothing is written into the folder"
    );

    // Part of the files is not enough either: the rest is not taken from elsewhere.
    fs::copy(
        env_dir.join("train-images-idx3-ubyte"),
        empty.join("train-images-idx3-ubyte"),
    )
    .unwrap();
    source.data_dir = Some(empty.clone());
    let err = source.locate().unwrap_err();
    let MnistError::MissingData { searched, .. } = &err else {
        panic!("expected MissingData, got {err:?}");
    };
    assert!(
        searched[0]
            .problem
            .starts_with("lacks train-labels-idx1-ubyte[.gz]")
    );
    assert!(!searched[0].problem.contains("train-images"));

    // A file where the folder should be: named, nothing downloaded.
    let file = tmp.path().join("a-file");
    fs::write(&file, b"x").unwrap();
    source.data_dir = Some(file.clone());
    source.download = true;
    let err = source.locate().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(file.to_str().unwrap()), "{msg}");
    assert!(msg.contains("is not a directory"), "{msg}");
}

#[test]
fn from_env_reads_mnist_dir_and_the_cache_variable() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    };
    let set = vars(&[
        ("MNIST_DIR", "/from/env"),
        ("RNN_BURN_CACHE", "/cache/root"),
    ]);
    let source = MnistSource::from_vars(Some(PathBuf::from("/explicit")), &set);
    assert_eq!(source.data_dir, Some(PathBuf::from("/explicit")));
    assert_eq!(source.env_dir, Some(PathBuf::from("/from/env")));
    assert_eq!(source.cache_dir, Some(PathBuf::from("/cache/root/mnist")));
    assert!(source.download && source.verify_checksums);
    assert_eq!(source.mirrors, MNIST_MIRRORS);

    // Empty counts as unset: no MNIST_DIR, the platform cache.
    let empty = vars(&[("MNIST_DIR", ""), ("RNN_BURN_CACHE", "")]);
    let source = MnistSource::from_vars(None, &empty);
    assert_eq!(source.data_dir, None);
    assert_eq!(source.env_dir, None);
    assert_eq!(
        source.cache_dir,
        dirs::cache_dir().map(|c| c.join("rnn-burn").join("mnist"))
    );
    let unset = vars(&[]);
    assert_eq!(MnistSource::from_vars(None, &unset).env_dir, None);
}

#[test]
fn verified_state_is_remembered_until_the_file_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("blob.gz");
    let write_gz = |bytes: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        fs::write(&path, enc.finish().unwrap()).unwrap();
    };
    write_gz(b"hello world");
    let spec = FileSpec {
        name: "blob",
        sha256: &sha256_hex(b"hello world"),
        len: 11,
    };
    let own = Some(tmp.path());
    verify_dir(tmp.path(), &[spec], own).unwrap();
    assert!(tmp.path().join(MARKER_NAME).is_file());

    // Same size and modification time: the marker vouches, no re-hash (the bad content
    // goes unnoticed, which is the point of the cheap check).
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    write_gz(b"HELLO WORLD");
    assert_eq!(fs::metadata(&path).unwrap().len(), {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"hello world").unwrap();
        enc.finish().unwrap().len() as u64
    });
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    verify_dir(tmp.path(), &[spec], own).unwrap();

    // A new modification time forces a re-hash, which catches the change.
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime + Duration::from_secs(5))
        .unwrap();
    let err = verify_dir(tmp.path(), &[spec], own).unwrap_err();
    assert!(
        matches!(err, MnistError::ChecksumMismatch { .. }),
        "{err:?}"
    );
}

#[test]
fn other_directories_keep_their_marker_in_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("blob"), b"abc").unwrap();
    let spec = FileSpec {
        name: "blob",
        sha256: &sha256_hex(b"abc"),
        len: 3,
    };
    let cache = tmp.path().join("cache");
    verify_dir(&data, &[spec], Some(&cache)).unwrap();
    assert_eq!(
        fs::read_dir(&data).unwrap().count(),
        1,
        "nothing written into data/"
    );
    let markers: Vec<_> = fs::read_dir(cache.join("verified")).unwrap().collect();
    assert_eq!(markers.len(), 1);
    let paths = marker_paths(&data, Some(&cache));
    assert!(read_marker(&paths).files.contains_key("blob"));
    // Without a cache nothing is remembered, and nothing is written anywhere.
    verify_dir(&data, &[spec], None).unwrap();
    assert_eq!(fs::read_dir(&data).unwrap().count(), 1);
}

#[test]
fn loopback_detection() {
    assert!(is_loopback("http://127.0.0.1:8080/x"));
    assert!(is_loopback("http://localhost/x"));
    assert!(is_loopback("http://[::1]:1/x"));
    assert!(!is_loopback(
        "https://storage.googleapis.com/cvdf-datasets/mnist/"
    ));
}
