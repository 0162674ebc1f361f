using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Registry.Tests.Support;

namespace Registry.Tests.Distribution;

/// <summary>The registry with <c>Encryption:Enabled</c>: pushes and pulls as usual, and refuses to serve a blob altered at rest.</summary>
public sealed class EncryptionAtRestTests(EncryptionAtRestTests.EncryptedRegistry registry) : IClassFixture<EncryptionAtRestTests.EncryptedRegistry>
{
    private readonly HttpClient _client = registry.CreateClient();

    [Fact]
    public async Task Blobs_push_and_pull_whole_and_by_range()
    {
        var content = OciTestClient.RandomBytes(200_000);
        var digest = await _client.PushBlobAsync("encrypted/app", content);

        Assert.Equal(content, await _client.GetByteArrayAsync($"/v2/encrypted/app/blobs/{digest}"));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"/v2/encrypted/app/blobs/{digest}");
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(70_000, 140_000);
        var response = await _client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(content.AsSpan(70_000, 70_001).ToArray(), await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(200_000, response.Content.Headers.ContentRange!.Length);
    }

    [Fact]
    public async Task A_chunked_upload_of_odd_sizes_completes_even_when_it_must_be_rehashed_from_storage()
    {
        byte[][] chunks = [OciTestClient.RandomBytes(70_000), OciTestClient.RandomBytes(3), OciTestClient.RandomBytes(65_536), OciTestClient.RandomBytes(131_073)];
        byte[] content = [.. chunks.SelectMany(c => c)];
        var digest = OciTestClient.DigestOf(content);
        var start = await _client.PostAsync("/v2/encrypted/chunked/blobs/uploads/", null);
        var location = start.Headers.Location!;
        long offset = 0;
        foreach (var chunk in chunks)
        {
            var body = new ByteArrayContent(chunk);
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            body.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + chunk.Length - 1}");
            var patch = await _client.PatchAsync(location, body);
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            location = patch.Headers.Location!;
            offset += chunk.Length;
        }

        // As after a restart or on another replica: no running hash, so the PUT re-reads (and decrypts) the stored upload.
        var uploadId = location.OriginalString.Split('?')[0].Split('/')[^1];
        registry.Services.GetRequiredService<Registry.Distribution.UploadHashCache>().Forget(uploadId);
        var put = await _client.PutAsync(OciTestClient.WithQuery(location, $"digest={digest}"), null);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(content, await _client.GetByteArrayAsync($"/v2/encrypted/chunked/blobs/{digest}"));
    }

    [Fact]
    public async Task A_blob_altered_at_rest_is_a_500_error_not_its_bytes()
    {
        var content = OciTestClient.RandomBytes(1000);
        var digest = await _client.PushBlobAsync("encrypted/tampered", content);
        var hex = digest["sha256:".Length..];
        var file = Path.Combine(registry.DataPath, "blobs", "sha256", hex[..2], hex);
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[10] ^= 0x80;
        await File.WriteAllBytesAsync(file, bytes);

        var response = await _client.GetAsync($"/v2/encrypted/tampered/blobs/{digest}");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("UNKNOWN", error.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
    }

    /// <summary>The in-process registry with encryption at rest on (master key file created in the data folder).</summary>
    public sealed class EncryptedRegistry : RegistryFixture
    {
        public EncryptedRegistry() => Settings["Encryption:Enabled"] = "true";
    }
}
