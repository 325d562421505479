//! The catch-up protocol's stream codec: each request and response is one frame, a 4-byte
//! big-endian length then the message bytes (the core's versioned encoding, [`warpnet_stats_core::wire`]). Frames
//! longer than the wire limit are refused before anything is read into memory. Toward a WebRTC
//! peer a frame is written in small pieces; elsewhere at once.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response::Codec;

use warpnet_stats_core::wire::MAX_MESSAGE_BYTES;

/// The catch-up protocol's name.
pub(crate) const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/warpnet/stats-sync/2");
/// The light-node protocol: a browser tab's watches, its edge node's answers and pushes.
/// Version 2: a `Watch` may name the asker's node id (its writer, when it connects under a
/// network identity of its own).
pub(crate) const LIGHT_PROTOCOL: StreamProtocol = StreamProtocol::new("/warpnet/stats-light/2");
/// Version 1, still spoken with light nodes of that version (whose peer id is their writer's).
pub(crate) const LIGHT_PROTOCOL_1: StreamProtocol = StreamProtocol::new("/warpnet/stats-light/1");

/// The most bytes handed to a WebRTC stream before a flush. What is flushed at once travels as
/// one data channel message, and the native WebRTC transport (the edge node) fails reading
/// messages above 8 KiB; elsewhere a frame is written at once (fewer, larger transport frames to
/// decrypt and dispatch).
pub const WRITE_CHUNK: usize = 7 * 1024;

/// One message, and how to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The message bytes.
    pub bytes: Vec<u8>,
    /// Flush after every this many bytes: [`WRITE_CHUNK`] toward a WebRTC peer.
    pub flush_every: usize,
}

impl Frame {
    /// A frame to send to a peer over WebRTC (`webrtc` true) or another transport.
    pub(crate) fn new(bytes: Vec<u8>, webrtc: bool) -> Self {
        Self { bytes, flush_every: if webrtc { WRITE_CHUNK } else { MAX_MESSAGE_BYTES } }
    }
}

/// Length-prefixed frames of message bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FrameCodec;

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Frame> {
    let mut length = [0; 4];
    io.read_exact(&mut length).await?;
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_MESSAGE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {length} bytes exceeds the limit of {MAX_MESSAGE_BYTES}"),
        ));
    }
    let mut bytes = vec![0; length];
    io.read_exact(&mut bytes).await?;
    Ok(Frame { bytes, flush_every: MAX_MESSAGE_BYTES })
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, frame: Frame) -> io::Result<()> {
    let Frame { bytes, flush_every } = frame;
    let length = u32::try_from(bytes.len())
        .ok()
        .filter(|&l| l as usize <= MAX_MESSAGE_BYTES)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    io.write_all(&length.to_be_bytes()).await?;
    for chunk in bytes.chunks(flush_every.max(1)) {
        io.write_all(chunk).await?;
        io.flush().await?;
    }
    io.close().await
}

impl Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = Frame;
    type Response = Frame;

    fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Frame>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io)
    }

    fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Frame>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io)
    }

    fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Frame,
    ) -> impl Future<Output = io::Result<()>> + Send
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, request)
    }

    fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Frame,
    ) -> impl Future<Output = io::Result<()>> + Send
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, response)
    }
}
