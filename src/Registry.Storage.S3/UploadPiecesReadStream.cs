using Amazon.S3;
using Amazon.S3.Model;

namespace Registry.Storage.S3;

/// <summary>An upload's acknowledged bytes, read front to back from its pieces in order.</summary>
internal sealed class UploadPiecesReadStream(IAmazonS3 client, string bucket, IReadOnlyList<(string Key, int Length)> pieces) : Stream
{
    private int _next;
    private GetObjectResponse? _response;
    private int _left;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_left == 0)
        {
            _response?.Dispose();
            _response = null;
            if (_next == pieces.Count || buffer.IsEmpty)
            {
                return 0;
            }

            var (key, length) = pieces[_next++];
            if (length == 0)
            {
                continue;
            }

            _response = await client.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key, ByteRange = new ByteRange(0, length - 1) }, cancellationToken);
            _left = length;
        }

        var read = await _response!.ResponseStream.ReadAsync(buffer[..Math.Min(buffer.Length, _left)], cancellationToken);
        if (read == 0)
        {
            throw new IOException($"upload piece s3://{bucket}/{pieces[_next - 1].Key} is shorter than recorded");
        }

        _left -= read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _response?.Dispose();
        }

        base.Dispose(disposing);
    }
}
