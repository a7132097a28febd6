//! Integration tests: the download path against a loopback HTTP server, and the real MNIST
//! files, found as a user's run finds them (`$MNIST_DIR`, the per-user cache, the verified
//! download); without them the real-MNIST tests fail with one line that says what to set.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::Device;
use rnn_data::{
    DownloadOptions, FileSpec, MNIST_FILES, Mnist, MnistError, MnistSequenceBatcher,
    MnistSequences, MnistSource, MnistSplit, Normalisation, Origin, SequenceView, download_file,
};

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 server on 127.0.0.1 that answers GETs by path, one request per
// connection, for a bounded time.

#[derive(Clone)]
enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// 200 announcing `announced` bytes, sending `body`, then closing (a broken transfer).
    Cut { body: Vec<u8>, announced: usize },
}

struct Server {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(routes: HashMap<String, Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        thread::spawn(move || {
            // Serve for at most 60 s so a test that goes wrong cannot hang the run.
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => handle(stream, &routes, &log),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
        });
        Server { base, requests }
    }

    fn mirror(&self, prefix: &str) -> String {
        format!("{}/{prefix}/", self.base)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// Answers one request; its path is logged before the answer is sent, so a client that has
/// its answer always finds its request in the log.
fn handle(mut stream: TcpStream, routes: &HashMap<String, Reply>, log: &Mutex<Vec<String>>) {
    let Some(path) = read_request_path(&mut stream) else {
        return;
    };
    log.lock().unwrap().push(path.clone());
    let _ = match routes.get(&path) {
        Some(Reply::Body(body)) => {
            let header = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            stream
                .write_all(header.as_bytes())
                .and_then(|_| stream.write_all(body))
        }
        Some(Reply::Cut { body, announced }) => {
            let header = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
            );
            stream
                .write_all(header.as_bytes())
                .and_then(|_| stream.write_all(body))
        }
        None => stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        ),
    };
    let _ = stream.flush();
    // Dropping the stream closes the connection.
}

fn read_request_path(stream: &mut TcpStream) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    Some(head.split_whitespace().nth(1)?.to_string())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn quick() -> DownloadOptions {
    DownloadOptions {
        timeout: Duration::from_secs(10),
        progress: false,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    rnn_data::idx::sha256_hex(bytes)
}

/// Names in `dir` (to check that no temporary or partial file is left behind).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------------
// Download tests (synthetic files)

#[test]
fn download_skips_a_missing_and_a_corrupt_mirror() {
    let good = rnn_data::idx::encode_labels(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 0]);
    let spec = FileSpec {
        name: "tiny-labels",
        sha256: &sha256_hex(&good),
        len: good.len() as u64,
    };
    let mut routes = HashMap::new();
    let mut bad = good.clone();
    bad[9] = 7;
    routes.insert("/corrupt/tiny-labels.gz".into(), Reply::Body(gzip(&bad)));
    routes.insert("/good/tiny-labels.gz".into(), Reply::Body(gzip(&good)));
    let server = Server::start(routes);
    let mirrors = vec![
        server.mirror("missing"),
        server.mirror("corrupt"),
        server.mirror("good"),
    ];
    let dest = tempfile::tempdir().unwrap();
    let path = download_file(&spec, &mirrors, dest.path(), &quick()).unwrap();
    assert_eq!(path, dest.path().join("tiny-labels.gz"));
    assert_eq!(gunzip(&std::fs::read(&path).unwrap()), good);
    assert_eq!(
        server.requests(),
        vec![
            "/missing/tiny-labels.gz",
            "/corrupt/tiny-labels.gz",
            "/good/tiny-labels.gz"
        ]
    );
    // Only the verified file and the verification marker remain.
    assert_eq!(
        entries(dest.path()),
        vec![".rnn-burn-verified.json", "tiny-labels.gz"]
    );
}

#[test]
fn a_corrupt_only_mirror_is_a_checksum_error_naming_file_and_mirror() {
    let good = rnn_data::idx::encode_labels(&[1, 2, 3]);
    let spec = FileSpec {
        name: "tiny-labels",
        sha256: &sha256_hex(&good),
        len: good.len() as u64,
    };
    let mut bad = good.clone();
    bad[8] = 9;
    let mut routes = HashMap::new();
    routes.insert("/corrupt/tiny-labels.gz".into(), Reply::Body(gzip(&bad)));
    let server = Server::start(routes);
    let dest = tempfile::tempdir().unwrap();
    let err = download_file(&spec, &[server.mirror("corrupt")], dest.path(), &quick()).unwrap_err();
    let url = format!("{}tiny-labels.gz", server.mirror("corrupt"));
    let MnistError::AllMirrorsFailed { file, failures } = &err else {
        panic!("expected AllMirrorsFailed, got {err:?}");
    };
    assert_eq!(file, "tiny-labels");
    assert_eq!(failures.len(), 1);
    match &failures[0] {
        MnistError::ChecksumMismatch {
            file,
            origin,
            expected,
            actual,
        } => {
            assert_eq!(file, "tiny-labels");
            assert_eq!(origin, &Origin::Mirror(url.clone()));
            assert_eq!(expected, &sha256_hex(&good));
            assert_eq!(actual, &sha256_hex(&bad));
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(msg.contains("checksum mismatch for tiny-labels"), "{msg}");
    assert!(msg.contains(&url), "{msg}");
    assert!(
        entries(dest.path()).is_empty(),
        "{:?}",
        entries(dest.path())
    );
}

#[test]
fn an_interrupted_transfer_leaves_no_file() {
    let good = rnn_data::idx::encode_labels(&[5; 2000]);
    let spec = FileSpec {
        name: "tiny-labels",
        sha256: &sha256_hex(&good),
        len: good.len() as u64,
    };
    let gz = gzip(&good);
    let sent = gz.len() / 2;
    let mut routes = HashMap::new();
    routes.insert(
        "/cut/tiny-labels.gz".into(),
        Reply::Cut {
            body: gz[..sent].to_vec(),
            announced: gz.len(),
        },
    );
    let server = Server::start(routes);
    let dest = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let err = download_file(&spec, &[server.mirror("cut")], dest.path(), &quick()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    let MnistError::AllMirrorsFailed { failures, .. } = &err else {
        panic!("expected AllMirrorsFailed, got {err:?}");
    };
    match &failures[0] {
        MnistError::Interrupted {
            url,
            received,
            expected,
            ..
        } => {
            assert!(url.ends_with("/cut/tiny-labels.gz"));
            assert_eq!(*received, sent as u64);
            assert_eq!(*expected, Some(gz.len() as u64));
        }
        other => panic!("expected Interrupted, got {other:?}"),
    }
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(
        msg.contains(&format!("interrupted after {sent} of {} bytes", gz.len())),
        "{msg}"
    );
    assert!(!dest.path().join("tiny-labels.gz").exists());
    assert!(
        entries(dest.path()).is_empty(),
        "{:?}",
        entries(dest.path())
    );
}

#[test]
fn an_oversized_download_is_cut_off_and_leaves_no_file() {
    let good = rnn_data::idx::encode_labels(&[1, 2, 3]);
    let spec = FileSpec {
        name: "tiny-labels",
        sha256: &sha256_hex(&good),
        len: good.len() as u64,
    };
    // Far more than any encoding of an 11-byte file (the limit is its size plus 64 KiB).
    let mut routes = HashMap::new();
    routes.insert(
        "/huge/tiny-labels.gz".into(),
        Reply::Body(vec![0x55; 1 << 20]),
    );
    let server = Server::start(routes);
    let dest = tempfile::tempdir().unwrap();
    let err = download_file(&spec, &[server.mirror("huge")], dest.path(), &quick()).unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    let MnistError::AllMirrorsFailed { failures, .. } = &err else {
        panic!("expected AllMirrorsFailed, got {err:?}");
    };
    assert!(
        matches!(&failures[0], MnistError::Interrupted { received, .. } if *received <= 11 + 65536),
        "{:?}",
        failures[0]
    );
    assert!(
        entries(dest.path()).is_empty(),
        "{:?}",
        entries(dest.path())
    );
}

// ---------------------------------------------------------------------------------------------
// Real MNIST

/// MNIST as a user's run finds it ([`rnn_data::locate_mnist`]), looked up once; without it
/// every real-MNIST test fails with the one line that says what to set (these tests must not
/// pass silently without data).
fn mnist_dir() -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match DIR.get_or_init(rnn_data::locate_mnist) {
        Ok(dir) => dir.clone(),
        // The line alone: no panic message around it, no backtrace.
        Err(line) => {
            eprintln!("{line}");
            std::panic::resume_unwind(Box::new(line.clone()))
        }
    }
}

fn source_for(dir: &Path, cache: &Path) -> MnistSource {
    MnistSource {
        data_dir: Some(dir.to_path_buf()),
        env_dir: None,
        cache_dir: Some(cache.to_path_buf()),
        mirrors: Vec::new(),
        download: false,
        verify_checksums: true,
        options: quick(),
    }
}

/// Both splits, loaded (and verified) once for all tests of this binary.
fn real() -> &'static (Arc<Mnist>, Arc<Mnist>) {
    static DATA: OnceLock<(Arc<Mnist>, Arc<Mnist>)> = OnceLock::new();
    DATA.get_or_init(|| {
        let cache = tempfile::tempdir().unwrap();
        let source = source_for(&mnist_dir(), cache.path());
        let train = source
            .load(MnistSplit::Train)
            .unwrap_or_else(|e| panic!("{e}"));
        let test = source
            .load(MnistSplit::Test)
            .unwrap_or_else(|e| panic!("{e}"));
        (Arc::new(train), Arc::new(test))
    })
}

#[test]
fn real_mnist_sizes_labels_and_first_label() {
    let (train, test) = real();
    assert_eq!(train.len(), 60_000);
    assert_eq!(test.len(), 10_000);
    assert_eq!(train.images().len(), 60_000 * 784);
    let train_hist = train.label_histogram();
    let test_hist = test.label_histogram();
    assert_eq!(train_hist.iter().sum::<usize>(), 60_000);
    assert_eq!(test_hist.iter().sum::<usize>(), 10_000);
    // The published per-digit counts.
    assert_eq!(
        train_hist,
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        test_hist,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(train.label(0), 5);
    assert_eq!(test.label(0), 7);
}

#[test]
fn real_mnist_pixel_ranges_of_both_normalisations() {
    let (train, _) = real();
    let device = Device::flex();
    let data = MnistSequences::new(Arc::clone(train)).first(64);
    let items: Vec<_> = (0..data.len()).map(|i| data.get(i).unwrap()).collect();
    for (normalisation, lo, hi, background) in [
        (Normalisation::IrnnTutorial, -1.0f32, 1.0f32, 1.0f32),
        (Normalisation::UnitRange, 0.0, 1.0, 0.0),
    ] {
        let batch = MnistSequenceBatcher::new(SequenceView::Pixel, normalisation)
            .batch(items.clone(), &device);
        let values = batch.inputs.to_data().try_to_vec::<f32>().unwrap();
        // Every value inside [lo, hi] (a NaN is inside no range), and both ends reached.
        let outside = values.iter().find(|v| !(lo..=hi).contains(*v));
        assert_eq!(
            outside, None,
            "{normalisation}: a value outside [{lo}, {hi}]"
        );
        assert!(
            values.contains(&lo) && values.contains(&hi),
            "{normalisation}: [{lo}, {hi}] not spanned"
        );
        // The top-left pixel is background in every MNIST image.
        assert_eq!(values[0], background, "{normalisation}");
    }
}

#[test]
fn real_mnist_pixel_and_row_views_hold_the_same_values() {
    let (train, _) = real();
    let device = Device::flex();
    let data = MnistSequences::new(Arc::clone(train));
    let item = data.get(0).unwrap();
    let pixel = MnistSequenceBatcher::new(SequenceView::Pixel, Normalisation::IrnnTutorial)
        .batch(vec![item.clone()], &device);
    let row = MnistSequenceBatcher::new(SequenceView::Row, Normalisation::IrnnTutorial)
        .batch(vec![item.clone()], &device);
    assert_eq!(pixel.inputs.dims(), [1, 784, 1]);
    assert_eq!(row.inputs.dims(), [1, 28, 28]);
    let p = pixel.inputs.to_data().try_to_vec::<f32>().unwrap();
    let r = row.inputs.to_data().try_to_vec::<f32>().unwrap();
    assert_eq!(p, r);
    // Row 14, column 10 of the row view is pixel 14 * 28 + 10 of the pixel view.
    let row3 = row
        .inputs
        .clone()
        .reshape([28, 28])
        .to_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(row3[14 * 28 + 10], p[14 * 28 + 10]);
    assert_eq!(
        p[14 * 28 + 10],
        Normalisation::IrnnTutorial.apply(train.image(0)[14 * 28 + 10])
    );
    // The permuted view holds the same multiset of values.
    let permuted = MnistSequenceBatcher::new(
        SequenceView::PermutedPixel { seed: 3 },
        Normalisation::IrnnTutorial,
    )
    .batch(vec![item], &device);
    let mut q = permuted.inputs.to_data().try_to_vec::<f32>().unwrap();
    let mut sorted = p.clone();
    q.sort_by(f32::total_cmp);
    sorted.sort_by(f32::total_cmp);
    assert_eq!(q, sorted);
    assert_ne!(permuted.inputs.to_data().try_to_vec::<f32>().unwrap(), p);
}

#[test]
fn real_mnist_through_burns_data_loader() {
    let (_, test) = real();
    let device = Device::flex();
    let data = MnistSequences::new(Arc::clone(test)).shuffled(7).first(100);
    let first_label = test.label(data.indices()[0] as usize) as i64;
    let loader = DataLoaderBuilder::new(MnistSequenceBatcher::new(
        SequenceView::Row,
        Normalisation::UnitRange,
    ))
    .batch_size(40)
    .set_device(device)
    .build(data);
    let batches: Vec<_> = loader.iter().map(|b| b.unwrap()).collect();
    let sizes: Vec<usize> = batches.iter().map(|b| b.inputs.dims()[0]).collect();
    assert_eq!(sizes, vec![40, 40, 20]);
    assert_eq!(batches[0].inputs.dims(), [40, 28, 28]);
    let labels = batches[0]
        .targets
        .to_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap();
    assert_eq!(labels[0], first_label);
}

#[test]
fn real_mnist_verification_is_remembered_outside_the_data_dir() {
    let dir = mnist_dir();
    let cache = tempfile::tempdir().unwrap();
    let source = source_for(&dir, cache.path());
    let before = entries(&dir);
    let started = Instant::now();
    assert_eq!(source.locate().unwrap(), dir);
    let first = started.elapsed();
    let started = Instant::now();
    assert_eq!(source.locate().unwrap(), dir);
    let second = started.elapsed();
    assert_eq!(
        entries(&dir),
        before,
        "nothing is written into the data directory"
    );
    assert_eq!(entries(&cache.path().join("verified")).len(), 1);
    println!("first verification {first:?}, remembered {second:?}");
    assert!(second < first, "first {first:?}, second {second:?}");
}

/// Routes serving the real MNIST files from `dir` under `/good/`, and a corrupt training-label
/// file under `/bad/`.
fn mnist_routes(dir: &Path) -> HashMap<String, Reply> {
    let mut routes = HashMap::new();
    for spec in &MNIST_FILES {
        let gz = std::fs::read(dir.join(format!("{}.gz", spec.name)))
            .or_else(|_| std::fs::read(dir.join(spec.name)).map(|raw| gzip(&raw)))
            .unwrap();
        routes.insert(format!("/good/{}.gz", spec.name), Reply::Body(gz));
    }
    // The first mirror serves a corrupt training-label file and nothing else.
    let mut bad_labels = gunzip(&std::fs::read(dir.join("train-labels-idx1-ubyte.gz")).unwrap());
    bad_labels[100] ^= 1;
    routes.insert(
        "/bad/train-labels-idx1-ubyte.gz".into(),
        Reply::Body(gzip(&bad_labels)),
    );
    routes
}

#[test]
fn real_mnist_is_downloaded_into_an_empty_cache() {
    let dir = mnist_dir();
    let server = Server::start(mnist_routes(&dir));
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    // Without --data-dir: MNIST_DIR (here a folder lacking the files), then the cache.
    let env_dir = tmp.path().join("env");
    std::fs::create_dir(&env_dir).unwrap();
    let source = MnistSource {
        data_dir: None,
        env_dir: Some(env_dir.clone()),
        cache_dir: Some(cache.clone()),
        mirrors: vec![server.mirror("bad"), server.mirror("good")],
        download: true,
        verify_checksums: true,
        options: quick(),
    };
    assert_eq!(source.locate().unwrap(), cache);
    let mut expected: Vec<String> = MNIST_FILES
        .iter()
        .map(|s| format!("{}.gz", s.name))
        .collect();
    expected.push(".rnn-burn-verified.json".into());
    expected.sort();
    assert_eq!(entries(&cache), expected);
    assert_eq!(server.requests().len(), 8);
    let test = source.load(MnistSplit::Test).unwrap();
    assert_eq!(test.len(), 10_000);
    assert_eq!(test.labels(), real().1.labels());
    // Everything is cached now: no further requests.
    assert_eq!(source.locate().unwrap(), cache);
    assert_eq!(server.requests().len(), 8);
    assert!(
        entries(&env_dir).is_empty(),
        "nothing written into MNIST_DIR"
    );
}

#[test]
fn an_empty_data_dir_is_downloaded_into_and_nothing_else_is_read() {
    let real_dir = mnist_dir();
    let server = Server::start(mnist_routes(&real_dir));
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let cache = tmp.path().join("cache");
    // MNIST_DIR holds the real files: a fallback would use them without a request.
    let source = MnistSource {
        data_dir: Some(data.clone()),
        env_dir: Some(real_dir.clone()),
        cache_dir: Some(cache.clone()),
        mirrors: vec![server.mirror("bad"), server.mirror("good")],
        download: true,
        verify_checksums: true,
        options: quick(),
    };
    let before = entries(&real_dir);
    assert_eq!(source.locate().unwrap(), data);
    let mut expected: Vec<String> = MNIST_FILES
        .iter()
        .map(|s| format!("{}.gz", s.name))
        .collect();
    expected.sort();
    // The four files, and nothing else: the verification marker lives in the cache.
    assert_eq!(entries(&data), expected);
    assert_eq!(entries(&cache), vec!["verified"]);
    assert_eq!(entries(&cache.join("verified")).len(), 1);
    assert_eq!(entries(&real_dir), before);
    // Four files from the good mirror, one corrupt one from the bad mirror, three misses.
    assert_eq!(server.requests().len(), 8);
    let test = source.load(MnistSplit::Test).unwrap();
    assert_eq!(test.labels(), real().1.labels());
    assert_eq!(source.locate().unwrap(), data);
    assert_eq!(server.requests().len(), 8);

    // A folder that does not exist yet is created and filled.
    let fresh = tmp.path().join("new").join("mnist");
    let mut into_fresh = source.clone();
    into_fresh.data_dir = Some(fresh.clone());
    into_fresh.mirrors = vec![server.mirror("good")];
    assert_eq!(into_fresh.locate().unwrap(), fresh);
    assert_eq!(entries(&fresh), expected);
    assert_eq!(server.requests().len(), 12);
}

#[test]
fn an_empty_data_dir_offline_is_an_error_naming_it() {
    let real_dir = mnist_dir();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let cache = tmp.path().join("cache");
    let source = MnistSource {
        data_dir: Some(data.clone()),
        env_dir: Some(real_dir.clone()),
        cache_dir: Some(cache.clone()),
        mirrors: Vec::new(),
        download: false,
        verify_checksums: true,
        options: quick(),
    };
    let err = source.load(MnistSplit::Test).unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(
        matches!(&err, MnistError::MissingData { searched, .. }
            if searched.len() == 1 && searched[0].path.as_deref() == Some(data.as_path())),
        "{err:?}"
    );
    assert!(
        msg.contains(&format!("--data-dir ({})", data.display())),
        "{msg}"
    );
    assert!(msg.contains("downloading is disabled"), "{msg}");
    assert!(!msg.contains(real_dir.to_str().unwrap()), "{msg}");
    assert!(entries(&data).is_empty());
}
