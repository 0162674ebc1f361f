using Registry.Core.Content;
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

        await Assert.ThrowsAsync<IOException>(() => _store.WriteUploadAsync(id, 3, new FailingStream(), default));

        Assert.Equal(3, new FileInfo(Path.Combine(_root, "uploads", id)).Length);
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

    /// <summary>Yields some bytes, then fails as a dropped connection does.</summary>
    private sealed class FailingStream : Stream
    {
        private bool _sent;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_sent)
            {
                throw new IOException("connection reset");
            }

            _sent = true;
            buffer[offset] = 1;
            return 1;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
