//! The catch-up protocol's stream codec: each request and response is one frame, a 4-byte
//! big-endian length then the message bytes ([`crate::core`]'s versioned encoding). Frames
//! longer than the wire limit are refused before anything is read into memory.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response::Codec;

use crate::core::MAX_MESSAGE_BYTES;

/// The catch-up protocol's name.
pub(crate) const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/warpnet/stats-sync/1");

/// The most bytes handed to the stream before a flush. Over WebRTC what is flushed at once
/// travels as one data channel message, and the native WebRTC transport fails reading messages
/// above 8 KiB.
pub(crate) const WRITE_CHUNK: usize = 7 * 1024;

/// Length-prefixed frames of message bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FrameCodec;

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
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
    Ok(bytes)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: Vec<u8>) -> io::Result<()> {
    let length = u32::try_from(bytes.len())
        .ok()
        .filter(|&l| l as usize <= MAX_MESSAGE_BYTES)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    io.write_all(&length.to_be_bytes()).await?;
    for chunk in bytes.chunks(WRITE_CHUNK) {
        io.write_all(chunk).await?;
        io.flush().await?;
    }
    io.close().await
}

impl Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Vec<u8>>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io)
    }

    fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Vec<u8>>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io)
    }

    fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
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
        response: Vec<u8>,
    ) -> impl Future<Output = io::Result<()>> + Send
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, response)
    }
}
