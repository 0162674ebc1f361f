using Registry.Core.Content;
using Registry.Storage;

namespace Registry.Tests.Storage;

/// <summary>
/// What every <see cref="IBlobStore"/> must do, run against each implementation (the subclasses), the
/// way the distribution API uses it: progress handed back exactly as the store returned it.
/// </summary>
public abstract class BlobStoreContractTests
{
    protected abstract IBlobStore Store { get; }

    [SkippableFact]
    public async Task A_committed_upload_becomes_the_blob()
    {
        var content = RandomBytes(5000);
        var digest = await StoreAsync(content);

        Assert.Equal(content.Length, await Store.GetLengthAsync(digest, default));
        Assert.Equal(content, await ReadAllAsync((await Store.OpenReadAsync(digest, default))!));
    }

    [SkippableFact]
    public async Task A_blob_that_was_never_stored_is_absent()
    {
        var digest = Digest.Compute(RandomBytes(10));

        Assert.Null(await Store.GetLengthAsync(digest, default));
        Assert.Null(await Store.OpenReadAsync(digest, default));
        Assert.False(await Store.DeleteAsync(digest, default));
    }

    [SkippableFact]
    public async Task A_deleted_blob_is_gone()
    {
        var digest = await StoreAsync(RandomBytes(100));

        Assert.True(await Store.DeleteAsync(digest, default));
        Assert.Null(await Store.GetLengthAsync(digest, default));
    }

    [SkippableTheory]
    [InlineData(new[] { 1, 4095, 4096, 4097, 1 })]
    [InlineData(new[] { 1024 * 1024, 1024 * 1024 - 1, 1024 * 1024 + 1, 3 * 1024 * 1024 + 17 })]
    [InlineData(new[] { 4096, 0, 8192, 100 })]
    [InlineData(new[] { 9 * 1024 * 1024 + 5, 7 * 1024 * 1024, 1 })]
    [InlineData(new[] { 64 * 1024, 64 * 1024 - 1, 64 * 1024 + 1, (64 * 1024) + (1024 * 1024), (64 * 1024) + (1024 * 1024) + 1 })]
    public async Task Chunks_of_any_size_append_exactly_and_commit_to_the_same_bytes(int[] chunkSizes)
    {
        var id = Guid.NewGuid().ToString();
        await Store.StartUploadAsync(id, default);
        var expected = new MemoryStream();
        var progress = UploadProgress.Empty;
        foreach (var size in chunkSizes)
        {
            var chunk = RandomBytes(size);
            expected.Write(chunk);
            progress = await Store.WriteUploadAsync(id, progress, new MemoryStream(chunk), default);
            Assert.Equal(expected.Length, progress.Length);
        }

        Assert.Equal(expected.ToArray(), await ReadAllAsync(await Store.OpenUploadReadAsync(id, progress, default)));
        var digest = Digest.Compute(expected.ToArray());
        await Store.CommitUploadAsync(id, progress, digest, default);
        Assert.Equal(expected.ToArray(), await ReadAllAsync((await Store.OpenReadAsync(digest, default))!));
    }

    [SkippableFact]
    public async Task A_write_from_earlier_progress_disregards_what_a_later_write_stored()
    {
        var id = Guid.NewGuid().ToString();
        var first = RandomBytes(6 * 1024 * 1024 + 10);
        await Store.StartUploadAsync(id, default);
        var acknowledged = await Store.WriteUploadAsync(id, UploadProgress.Empty, new MemoryStream(first), default);
        await Store.WriteUploadAsync(id, acknowledged, new MemoryStream(RandomBytes(9 * 1024 * 1024)), default);

        var second = RandomBytes(3);
        var progress = await Store.WriteUploadAsync(id, acknowledged, new MemoryStream(second), default);

        byte[] expected = [.. first, .. second];
        Assert.Equal(expected, await ReadAllAsync(await Store.OpenUploadReadAsync(id, progress, default)));
        await Store.CommitUploadAsync(id, progress, Digest.Compute(expected), default);
        Assert.Equal(expected, await ReadAllAsync((await Store.OpenReadAsync(Digest.Compute(expected), default))!));
    }

    [SkippableTheory]
    [InlineData(64 * 1024)]
    [InlineData((64 * 1024) + 1)]
    [InlineData((9 * 1024 * 1024) + 7)]
    public async Task A_failed_write_leaves_the_acknowledged_bytes_intact(int failAfter)
    {
        var id = Guid.NewGuid().ToString();
        var first = RandomBytes(5000);
        await Store.StartUploadAsync(id, default);
        var acknowledged = await Store.WriteUploadAsync(id, UploadProgress.Empty, new MemoryStream(first), default);

        await Assert.ThrowsAnyAsync<IOException>(() => Store.WriteUploadAsync(id, acknowledged, new FailingStream(failAfter), default));

        Assert.Equal(first, await ReadAllAsync(await Store.OpenUploadReadAsync(id, acknowledged, default)));
        var rest = RandomBytes(10);
        var progress = await Store.WriteUploadAsync(id, acknowledged, new MemoryStream(rest), default);
        var stored = await ReadAllAsync(await Store.OpenUploadReadAsync(id, progress, default));
        Assert.Equal([.. first, .. rest], stored);
    }

    [SkippableFact]
    public async Task A_blob_reads_back_exactly_from_any_position()
    {
        var content = RandomBytes((5 * 1024 * 1024) + 123);
        var digest = await StoreAsync(content);
        await using var blob = (await Store.OpenReadAsync(digest, default))!;
        Assert.Equal(content.Length, blob.Length);

        foreach (var (position, count) in new[] { (4095L, 10_000), (1024L * 1024 - 1, 3), (content.Length - 1L, 1), (17L, 4 * 1024 * 1024), (0L, 5) })
        {
            blob.Position = position;
            var read = new byte[count];
            await blob.ReadExactlyAsync(read);
            Assert.Equal(content.AsSpan((int)position, count).ToArray(), read);
        }

        blob.Seek(0, SeekOrigin.End);
        Assert.Equal(0, await blob.ReadAsync(new byte[1]));
    }

    [SkippableFact]
    public async Task Committing_an_already_stored_blob_again_succeeds()
    {
        var content = RandomBytes(64);

        await StoreAsync(content);
        var digest = await StoreAsync(content);

        Assert.Equal(64, await Store.GetLengthAsync(digest, default));
    }

    [SkippableFact]
    public async Task A_discarded_upload_can_be_discarded_again()
    {
        var id = Guid.NewGuid().ToString();
        await Store.StartUploadAsync(id, default);
        await Store.WriteUploadAsync(id, UploadProgress.Empty, new MemoryStream(RandomBytes(100)), default);

        await Store.DeleteUploadAsync(id, default);
        await Store.DeleteUploadAsync(id, default);
    }

    protected async Task<Digest> StoreAsync(byte[] content)
    {
        var id = Guid.NewGuid().ToString();
        var digest = Digest.Compute(content);
        await Store.StartUploadAsync(id, default);
        var progress = await Store.WriteUploadAsync(id, UploadProgress.Empty, new MemoryStream(content), default);
        await Store.CommitUploadAsync(id, progress, digest, default);
        return digest;
    }

    protected static byte[] RandomBytes(int size)
    {
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    protected static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    /// <summary>Yields <c>before</c> bytes, then fails as a dropped connection does.</summary>
    protected sealed class FailingStream(int before) : Stream
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
