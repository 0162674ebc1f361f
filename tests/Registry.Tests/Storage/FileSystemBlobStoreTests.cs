using Registry.Core.Content;
using Registry.Storage;
using Registry.Storage.FileSystem;

namespace Registry.Tests.Storage;

public sealed class FileSystemBlobStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "fs-store-tests", Guid.NewGuid().ToString("N"));
    private readonly FileSystemBlobStore _store;

    public FileSystemBlobStoreTests() => _store = new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootPath = _root });

    [Fact]
    public async Task Committed_upload_becomes_the_blob_and_the_upload_is_gone()
    {
        var id = Guid.NewGuid().ToString();
        var content = "hello"u8.ToArray();
        await _store.StartUploadAsync(id, default);
        await _store.WriteUploadAsync(id, 0, new MemoryStream(content), default);

        await _store.CommitUploadAsync(id, content.Length, Digest.Compute(content), default);

        Assert.Equal(5, await _store.GetLengthAsync(Digest.Compute(content), default));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "uploads")));
    }

    [Fact]
    public async Task Write_at_an_offset_discards_bytes_past_it()
    {
        var id = Guid.NewGuid().ToString();
        await _store.StartUploadAsync(id, default);
        await _store.WriteUploadAsync(id, 0, new MemoryStream("abcdef"u8.ToArray()), default);

        var length = await _store.WriteUploadAsync(id, 3, new MemoryStream("XY"u8.ToArray()), default);

        Assert.Equal(5, length);
        using var reader = new StreamReader(await _store.OpenUploadReadAsync(id, 5, default));
        Assert.Equal("abcXY", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task Failed_write_is_cut_back_to_its_offset()
    {
        var id = Guid.NewGuid().ToString();
        await _store.StartUploadAsync(id, default);
        await _store.WriteUploadAsync(id, 0, new MemoryStream("abc"u8.ToArray()), default);

        await Assert.ThrowsAsync<IOException>(() => _store.WriteUploadAsync(id, 3, new FailingStream(1), default));

        Assert.Equal(3, new FileInfo(Path.Combine(_root, "uploads", id)).Length);
    }

    [Fact]
    public async Task Write_failing_after_several_buffers_is_cut_back_to_its_offset()
    {
        var id = Guid.NewGuid().ToString();
        await _store.StartUploadAsync(id, default);
        await _store.WriteUploadAsync(id, 0, new MemoryStream(new byte[5000]), default);

        await Assert.ThrowsAsync<IOException>(() => _store.WriteUploadAsync(id, 5000, new FailingStream(3 * 1024 * 1024 + 7), default));

        Assert.Equal(5000, new FileInfo(Path.Combine(_root, "uploads", id)).Length);
    }

    [Theory]
    [InlineData(new[] { 1, 4095, 4096, 4097, 1 })]
    [InlineData(new[] { 1024 * 1024, 1024 * 1024 - 1, 1024 * 1024 + 1, 3 * 1024 * 1024 + 17 })]
    [InlineData(new[] { 4096, 0, 8192, 100 })]
    public async Task Chunks_of_any_size_and_alignment_append_exactly(int[] chunkSizes)
    {
        var id = Guid.NewGuid().ToString();
        await _store.StartUploadAsync(id, default);
        var expected = new MemoryStream();
        long length = 0;
        foreach (var size in chunkSizes)
        {
            var chunk = RandomBytes(size);
            expected.Write(chunk);
            length = await _store.WriteUploadAsync(id, length, new MemoryStream(chunk), default);
            Assert.Equal(expected.Length, length);
        }

        await using var upload = await _store.OpenUploadReadAsync(id, length, default);
        var actual = new MemoryStream();
        await upload.CopyToAsync(actual);
        Assert.Equal(expected.ToArray(), actual.ToArray());
        Assert.Equal(length, new FileInfo(Path.Combine(_root, "uploads", id)).Length);
    }

    [Fact]
    public async Task Rewriting_from_mid_block_keeps_the_bytes_before_the_offset()
    {
        var id = Guid.NewGuid().ToString();
        var first = RandomBytes(10_000);
        await _store.StartUploadAsync(id, default);
        await _store.WriteUploadAsync(id, 0, new MemoryStream(first), default);

        var second = RandomBytes(3);
        var length = await _store.WriteUploadAsync(id, 6000, new MemoryStream(second), default);

        await using var upload = await _store.OpenUploadReadAsync(id, length, default);
        var actual = new MemoryStream();
        await upload.CopyToAsync(actual);
        Assert.Equal([.. first.AsSpan(0, 6000), .. second], actual.ToArray());
    }

    [Fact]
    public async Task A_blob_reads_back_exactly_from_any_position()
    {
        var content = RandomBytes((5 * 1024 * 1024) + 123);
        var digest = await StoreAsync(content);
        await using var blob = (await _store.OpenReadAsync(digest, default))!;
        Assert.Equal(content.Length, blob.Length);

        var whole = new MemoryStream();
        await blob.CopyToAsync(whole);
        Assert.Equal(content, whole.ToArray());

        foreach (var (position, count) in new[] { (4095L, 10_000), (1024L * 1024 - 1, 3), (content.Length - 1L, 1), (17L, 4 * 1024 * 1024) })
        {
            blob.Position = position;
            var read = new byte[count];
            await blob.ReadExactlyAsync(read);
            Assert.Equal(content.AsSpan((int)position, count).ToArray(), read);
        }

        blob.Seek(10, SeekOrigin.End);
        Assert.Equal(0, await blob.ReadAsync(new byte[1]));
    }

    [Fact]
    public async Task A_second_writer_of_the_same_upload_is_refused_while_the_first_writes()
    {
        var id = Guid.NewGuid().ToString();
        await _store.StartUploadAsync(id, default);
        var slow = new BlockingStream();
        var first = _store.WriteUploadAsync(id, 0, slow, default);
        await slow.Started.Task;

        await Assert.ThrowsAsync<UploadBusyException>(() => _store.WriteUploadAsync(id, 0, new MemoryStream([1]), default));

        slow.Release.SetResult();
        Assert.Equal(1, await first);
    }

    [Fact]
    public async Task Committing_an_existing_blob_again_succeeds()
    {
        var content = "same"u8.ToArray();
        foreach (var id in new[] { Guid.NewGuid().ToString(), Guid.NewGuid().ToString() })
        {
            await _store.StartUploadAsync(id, default);
            await _store.WriteUploadAsync(id, 0, new MemoryStream(content), default);
            await _store.CommitUploadAsync(id, content.Length, Digest.Compute(content), default);
        }

        Assert.Equal(4, await _store.GetLengthAsync(Digest.Compute(content), default));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("")]
    public async Task Upload_ids_that_are_paths_are_refused(string id) =>
        await Assert.ThrowsAsync<ArgumentException>(() => _store.StartUploadAsync(id, default));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private async Task<Digest> StoreAsync(byte[] content)
    {
        var id = Guid.NewGuid().ToString();
        var digest = Digest.Compute(content);
        await _store.StartUploadAsync(id, default);
        await _store.WriteUploadAsync(id, 0, new MemoryStream(content), default);
        await _store.CommitUploadAsync(id, content.Length, digest, default);
        return digest;
    }

    private static byte[] RandomBytes(int size)
    {
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Yields one byte when released, then ends.</summary>
    private sealed class BlockingStream : Stream
    {
        private bool _sent;

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_sent)
            {
                return 0;
            }

            Started.TrySetResult();
            await Release.Task;
            _sent = true;
            buffer.Span[0] = 1;
            return 1;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Yields <c>before</c> bytes, then fails as a dropped connection does.</summary>
    private sealed class FailingStream(int before) : Stream
    {
        private int _left = before;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_left == 0)
            {
                throw new IOException("connection reset");
            }

            var n = Math.Min(count, _left);
            _left -= n;
            buffer.AsSpan(offset, n).Fill(1);
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
