//! Helpers shared by the integration tests: where the tools are, test data,
//! and tiny HTTP servers on 127.0.0.1.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use engine::InfoJson;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// yt-dlp: `$YTDLP`, else the workspace's `.venv/bin/yt-dlp`, else `yt-dlp`.
pub fn ytdlp_program() -> PathBuf {
    if let Some(p) = std::env::var_os("YTDLP") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/yt-dlp");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("yt-dlp")
}

/// ffmpeg: `$FFMPEG`, else `ffmpeg`.
pub fn ffmpeg_program() -> PathBuf {
    std::env::var_os("FFMPEG").map_or_else(|| PathBuf::from("ffmpeg"), PathBuf::from)
}

pub fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

pub fn load_info(name: &str) -> InfoJson {
    let text = std::fs::read_to_string(data_path(name)).expect("test data file is readable");
    serde_json::from_str(&text).expect("test data file is yt-dlp JSON")
}

/// Makes a 2-second 320x240 H.264/AAC MP4 at `path` with ffmpeg.
pub async fn make_mp4(path: &Path) {
    let status = tokio::process::Command::new(ffmpeg_program())
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"])
        .args(["-f", "lavfi", "-i", "sine"])
        .args(["-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        .arg(path)
        .status()
        .await
        .expect("ffmpeg runs (set FFMPEG to its path)");
    assert!(status.success(), "ffmpeg failed to make the test video");
}

/// A server on 127.0.0.1 that is stopped when dropped.
pub struct TestServer {
    pub port: u16,
    task: JoinHandle<()>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{}", self.port, path.trim_start_matches('/'))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn bind() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    (listener, port)
}

/// Serves the files in `root` over HTTP/1.1 (GET and HEAD; 404 otherwise).
pub async fn serve_dir(root: &Path) -> TestServer {
    let (listener, port) = bind().await;
    let root = root.to_path_buf();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let root = root.clone();
            tokio::spawn(async move {
                let _ = answer(stream, &root).await;
            });
        }
    });
    TestServer { port, task }
}

async fn answer(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&request);
    let mut parts = head.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or("/").split('?').next().unwrap_or("/").to_owned();
    let name = path.trim_start_matches('/');
    let file = (!name.is_empty() && !name.contains("..")).then(|| root.join(name));
    let body = match file {
        Some(f) => tokio::fs::read(f).await.ok(),
        None => None,
    };
    let (status, content_type, body) = match body {
        Some(body) => {
            let ct = if name.ends_with(".mp4") { "video/mp4" } else { "text/html; charset=utf-8" };
            ("200 OK", ct, body)
        }
        None => ("404 Not Found", "text/html; charset=utf-8", b"<h1>Not found</h1>".to_vec()),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(&body).await?;
    }
    stream.shutdown().await
}

/// A server that accepts connections and never answers them.
pub struct SilentServer {
    pub server: TestServer,
    /// Gets a message each time a client connects.
    pub accepted: tokio::sync::mpsc::UnboundedReceiver<()>,
    /// Gets a message each time a client closes its connection (for
    /// example because the client process was killed).
    pub closed: tokio::sync::mpsc::UnboundedReceiver<()>,
}

/// Accepts connections, reads whatever comes and never answers.
pub async fn serve_silence() -> SilentServer {
    let (listener, port) = bind().await;
    let (tx, closed) = tokio::sync::mpsc::unbounded_channel();
    let (accepted_tx, accepted) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = accepted_tx.send(());
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                let _ = tx.send(());
            });
        }
    });
    SilentServer { server: TestServer { port, task }, accepted, closed }
}

/// A port on 127.0.0.1 that nothing listens on.
pub async fn closed_port() -> u16 {
    let (listener, port) = bind().await;
    drop(listener);
    port
}
