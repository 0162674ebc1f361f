using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Registry.Tests.Support;

namespace Registry.Tests.Distribution;

/// <summary>Run against each metadata database: see the subclasses at the end.</summary>
public abstract class UploadTests(RegistryFixture registry)
{
    private readonly HttpClient _client = registry.CreateClient();

    [SkippableFact]
    public async Task Post_starts_a_session_with_location_uuid_and_empty_range()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var response = await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var uuid = response.Header("Docker-Upload-UUID");
        Assert.Equal($"/v2/{repository}/blobs/uploads/{uuid}", response.Headers.Location!.OriginalString);
        Assert.Equal("0-0", response.Header("Range"));
    }

    [SkippableFact]
    public async Task Monolithic_post_with_digest_creates_the_blob()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var blob = OciTestClient.RandomBytes(5000);
        var digest = OciTestClient.DigestOf(blob);

        var response = await _client.PostAsync($"/v2/{repository}/blobs/uploads/?digest={digest}", new ByteArrayContent(blob));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v2/{repository}/blobs/{digest}", response.Headers.Location!.OriginalString);
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        Assert.Equal(blob, await _client.GetByteArrayAsync($"/v2/{repository}/blobs/{digest}"));
    }

    [SkippableFact]
    public async Task Monolithic_post_with_wrong_digest_is_rejected_and_stores_nothing()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var blob = OciTestClient.RandomBytes(100);
        var claimed = OciTestClient.DigestOf(OciTestClient.RandomBytes(100));
        var uploadsBefore = Directory.GetFiles(Path.Combine(registry.DataPath, "uploads")).Length;

        var response = await _client.PostAsync($"/v2/{repository}/blobs/uploads/?digest={claimed}", new ByteArrayContent(blob));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("DIGEST_INVALID", await response.ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v2/{repository}/blobs/{claimed}")).StatusCode);
        Assert.Equal(uploadsBefore, Directory.GetFiles(Path.Combine(registry.DataPath, "uploads")).Length);
    }

    [SkippableFact]
    public async Task Streamed_patch_then_put_without_body_completes()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var blob = OciTestClient.RandomBytes(42);
        var start = await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null);

        var patch = await _client.PatchAsync(start.Headers.Location, new ByteArrayContent(blob));
        Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        Assert.Equal("0-41", patch.Header("Range"));

        var put = await _client.PutAsync(OciTestClient.WithQuery(patch.Headers.Location!, $"digest={OciTestClient.DigestOf(blob)}"), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(blob, await _client.GetByteArrayAsync(put.Headers.Location));
    }

    [SkippableFact]
    public async Task Chunked_upload_over_several_patches_with_content_range()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var blob = OciTestClient.RandomBytes(3 * 1000 + 17);
        var location = (await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).Headers.Location!;

        for (var offset = 0; offset < blob.Length; offset += 1000)
        {
            var length = Math.Min(1000, blob.Length - offset);
            var patch = await PatchChunkAsync(location, blob, offset, length);
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            Assert.Equal($"0-{offset + length - 1}", patch.Header("Range"));
            location = patch.Headers.Location!;
        }

        var put = await _client.PutAsync(OciTestClient.WithQuery(location, $"digest={OciTestClient.DigestOf(blob)}"), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(blob, await _client.GetByteArrayAsync($"/v2/{repository}/blobs/{OciTestClient.DigestOf(blob)}"));
    }

    [SkippableFact]
    public async Task Put_with_final_chunk_completes()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var blob = OciTestClient.RandomBytes(200);
        var location = (await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).Headers.Location!;
        var patch = await PatchChunkAsync(location, blob, 0, 150);

        var final = new ByteArrayContent(blob[150..]);
        final.Headers.ContentRange = null;
        final.Headers.TryAddWithoutValidation("Content-Range", "150-199");
        var put = await _client.PutAsync(OciTestClient.WithQuery(patch.Headers.Location!, $"digest={OciTestClient.DigestOf(blob)}"), final);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(blob, await _client.GetByteArrayAsync($"/v2/{repository}/blobs/{OciTestClient.DigestOf(blob)}"));
    }

    [SkippableFact]
    public async Task Out_of_order_chunk_is_416_with_current_range_and_keeps_the_session()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var blob = OciTestClient.RandomBytes(42);
        var location = (await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).Headers.Location!;

        var gap = await PatchChunkAsync(location, blob, 22, 20);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, gap.StatusCode);
        Assert.Equal("0-0", gap.Header("Range"));
        Assert.Equal("BLOB_UPLOAD_INVALID", await gap.ErrorCodeAsync());

        Assert.Equal(HttpStatusCode.Accepted, (await PatchChunkAsync(location, blob, 0, 22)).StatusCode);

        var repeat = await PatchChunkAsync(location, blob, 0, 22);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, repeat.StatusCode);
        Assert.Equal("0-21", repeat.Header("Range"));

        var overlap = await PatchChunkAsync(location, blob, 10, 32);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, overlap.StatusCode);

        var status = await _client.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-21", status.Header("Range"));
        Assert.NotNull(status.Headers.Location);

        Assert.Equal(HttpStatusCode.Accepted, (await PatchChunkAsync(location, blob, 22, 20)).StatusCode);
        var put = await _client.PutAsync(OciTestClient.WithQuery(location, $"digest={OciTestClient.DigestOf(blob)}"), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [SkippableFact]
    public async Task Chunk_shorter_than_its_content_range_is_rejected_and_rolled_back()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var blob = OciTestClient.RandomBytes(30);
        var location = (await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).Headers.Location!;

        var content = new StreamContent(new MemoryStream(blob[..10]));
        content.Headers.TryAddWithoutValidation("Content-Range", "0-29");
        var response = await _client.PatchAsync(location, content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("BLOB_UPLOAD_INVALID", await response.ErrorCodeAsync());
        Assert.Equal("0-0", (await _client.GetAsync(location)).Header("Range"));
    }

    [SkippableFact]
    public async Task Malformed_content_range_is_416()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var location = (await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).Headers.Location!;
        var content = new ByteArrayContent([1, 2, 3]);
        content.Headers.TryAddWithoutValidation("Content-Range", "three-to-five");

        var response = await _client.PatchAsync(location, content);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("BLOB_UPLOAD_INVALID", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Put_with_wrong_digest_is_rejected_and_discards_the_upload()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var blob = OciTestClient.RandomBytes(64);
        var wrong = OciTestClient.DigestOf(OciTestClient.RandomBytes(64));
        var location = (await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).Headers.Location!;
        await PatchChunkAsync(location, blob, 0, blob.Length);

        var put = await _client.PutAsync(OciTestClient.WithQuery(location, $"digest={wrong}"), null);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("DIGEST_INVALID", await put.ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v2/{repository}/blobs/{wrong}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(location)).StatusCode);
    }

    [SkippableTheory]
    [InlineData("")]
    [InlineData("digest=sha256:abc")]
    [InlineData("digest=md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("digest=sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    public async Task Put_with_missing_or_malformed_digest_is_400(string query)
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var location = (await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).Headers.Location!;

        var put = await _client.PutAsync(query.Length == 0 ? location.OriginalString : OciTestClient.WithQuery(location, query), null);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("DIGEST_INVALID", await put.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Concurrent_chunk_to_the_same_upload_is_refused_and_the_first_completes()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var blob = OciTestClient.RandomBytes(64 * 1024);
        var location = (await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).Headers.Location!;
        var firstHalfSent = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var slow = new GatedContent(blob, blob.Length / 2, firstHalfSent, release.Task);
        slow.Headers.TryAddWithoutValidation("Content-Range", $"0-{blob.Length - 1}");
        var first = _client.PatchAsync(location, slow);
        await firstHalfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(200);

        var second = await PatchChunkAsync(location, blob, 0, blob.Length);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, second.StatusCode);
        Assert.Equal("BLOB_UPLOAD_INVALID", await second.ErrorCodeAsync());
        release.SetResult();
        Assert.Equal(HttpStatusCode.Accepted, (await first).StatusCode);
        var put = await _client.PutAsync(OciTestClient.WithQuery(location, $"digest={OciTestClient.DigestOf(blob)}"), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [SkippableFact]
    public async Task Patch_to_unknown_upload_is_404_blob_upload_unknown()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var response = await _client.PatchAsync($"/v2/{repository}/blobs/uploads/{Guid.NewGuid()}", new ByteArrayContent([1]));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Upload_id_that_is_not_a_uuid_is_404_not_a_path()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var response = await _client.PatchAsync($"/v2/{repository}/blobs/uploads/..%2F..%2Fregistry.db", new ByteArrayContent([1]));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [SkippableFact]
    public async Task Cancelled_upload_is_gone()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var location = (await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).Headers.Location!;

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync(location)).StatusCode);

        var patch = await _client.PatchAsync(location, new ByteArrayContent([1, 2]));
        Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", await patch.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Abandoned_session_is_purged_with_its_bytes_and_a_live_one_is_kept()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var abandoned = (await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).Headers.Location!;
        await PatchChunkAsync(abandoned, OciTestClient.RandomBytes(10), 0, 10);
        var uploadFile = Path.Combine(registry.DataPath, "uploads", abandoned.OriginalString[(abandoned.OriginalString.LastIndexOf('/') + 1)..]);
        Assert.True(File.Exists(uploadFile));
        var cutoff = DateTime.UtcNow.AddMilliseconds(1);
        await Task.Delay(20);
        var live = (await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).Headers.Location!;

        var purged = await registry.Services.GetRequiredService<Registry.Distribution.UploadJanitor>().PurgeIdleSinceAsync(cutoff, CancellationToken.None);

        Assert.True(purged >= 1);
        Assert.False(File.Exists(uploadFile));
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync(abandoned)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.GetAsync(live)).StatusCode);
    }

    [SkippableFact]
    public async Task Session_belongs_to_its_repository()
    {
        var repository = OciTestClient.UniqueRepository("uploads");
        var start = await _client.PostAsync($"/v2/{repository}/blobs/uploads/", null);
        var uuid = start.Header("Docker-Upload-UUID");

        var other = await _client.GetAsync($"/v2/{OciTestClient.UniqueRepository("other")}/blobs/uploads/{uuid}");

        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [SkippableFact]
    public async Task Mount_from_another_repository_links_the_blob()
    {
        var source = OciTestClient.UniqueRepository("mount");
        var target = OciTestClient.UniqueRepository("mount");
        var digest = await _client.PushBlobAsync(source, OciTestClient.RandomBytes(300));

        var response = await _client.PostAsync($"/v2/{target}/blobs/uploads/?mount={digest}&from={source}", null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v2/{target}/blobs/{digest}", response.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v2/{target}/blobs/{digest}")).StatusCode);
    }

    [SkippableFact]
    public async Task Mount_without_from_discovers_the_blob()
    {
        var source = OciTestClient.UniqueRepository("mount");
        var target = OciTestClient.UniqueRepository("mount");
        var digest = await _client.PushBlobAsync(source, OciTestClient.RandomBytes(300));

        var response = await _client.PostAsync($"/v2/{target}/blobs/uploads/?mount={digest}", null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [SkippableFact]
    public async Task Mount_of_unknown_blob_opens_an_upload_session()
    {
        var target = OciTestClient.UniqueRepository("mount");
        var digest = OciTestClient.DigestOf(OciTestClient.RandomBytes(8));

        var response = await _client.PostAsync($"/v2/{target}/blobs/uploads/?mount={digest}&from=library/nothing", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.StartsWith($"/v2/{target}/blobs/uploads/", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    private Task<HttpResponseMessage> PatchChunkAsync(Uri location, byte[] blob, int offset, int length)
    {
        var content = new ByteArrayContent(blob, offset, length);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + length - 1}");
        return _client.PatchAsync(location, content);
    }

    /// <summary>Sends part of a body, signals, waits for a release, then sends the rest.</summary>
    private sealed class GatedContent(byte[] data, int before, TaskCompletionSource sent, Task release) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(data.AsMemory(0, before));
            await stream.FlushAsync();
            sent.TrySetResult();
            await release;
            await stream.WriteAsync(data.AsMemory(before));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = data.Length;
            return true;
        }
    }
}

public sealed class UploadTestsOnSqlite(RegistryFixture registry) : UploadTests(registry), IClassFixture<RegistryFixture>;

public sealed class UploadTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : UploadTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
