using Registry.Storage;
using Registry.Storage.FileSystem;

namespace Registry.Tests.Storage;

/// <summary>The blob store contract on the filesystem, plus what only the filesystem promises.</summary>
public sealed class FileSystemBlobStoreTests : BlobStoreContractTests, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "fs-store-tests", Guid.NewGuid().ToString("N"));
    private readonly FileSystemBlobStore _store;

    public FileSystemBlobStoreTests() => _store = new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootPath = _root });

    protected override IBlobStore Store => _store;

    [Fact]
    public async Task A_committed_upload_leaves_no_upload_file()
    {
        await StoreAsync(RandomBytes(10));

        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "uploads")));
    }

    [Fact]
    public async Task A_failed_write_is_cut_back_on_disk_to_its_offset()
    {
        var id = Guid.NewGuid().ToString();
        await _store.StartUploadAsync(id, default);
        var acknowledged = await _store.WriteUploadAsync(id, UploadProgress.Empty, new MemoryStream(new byte[5000]), default);

        await Assert.ThrowsAsync<IOException>(() => _store.WriteUploadAsync(id, acknowledged, new FailingStream(3 * 1024 * 1024 + 7), default));

        Assert.Equal(5000, new FileInfo(Path.Combine(_root, "uploads", id)).Length);
    }

    [Fact]
    public async Task A_second_writer_of_the_same_upload_is_refused_while_the_first_writes()
    {
        var id = Guid.NewGuid().ToString();
        await _store.StartUploadAsync(id, default);
        var slow = new BlockingStream();
        var first = _store.WriteUploadAsync(id, UploadProgress.Empty, slow, default);
        await slow.Started.Task;

        await Assert.ThrowsAsync<UploadBusyException>(() => _store.WriteUploadAsync(id, UploadProgress.Empty, new MemoryStream([1]), default));

        slow.Release.SetResult();
        Assert.Equal(1, (await first).Length);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("")]
    public async Task Upload_ids_that_are_paths_are_refused(string id) =>
        await Assert.ThrowsAsync<ArgumentException>(() => _store.StartUploadAsync(id, default));

    public void Dispose() => Directory.Delete(_root, recursive: true);

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
}
