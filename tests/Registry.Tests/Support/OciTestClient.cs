using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Registry.Tests.Support;

/// <summary>Small helpers that speak the distribution API the way clients do.</summary>
public static class OciTestClient
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";

    public static string DigestOf(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public static byte[] RandomBytes(int length) => RandomNumberGenerator.GetBytes(length);

    /// <summary>POST + PUT of a whole blob; asserts 201.</summary>
    public static async Task<string> PushBlobAsync(this HttpClient client, string repository, byte[] content)
    {
        var digest = DigestOf(content);
        var start = await client.PostAsync($"/v2/{repository}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var put = await client.PutAsync(WithQuery(start.Headers.Location!, $"digest={digest}"), new ByteArrayContent(content));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        return digest;
    }

    public static async Task<HttpResponseMessage> PutManifestAsync(this HttpClient client, string repository, string reference, byte[] manifest, string mediaType = OciManifest)
    {
        var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return await client.PutAsync($"/v2/{repository}/manifests/{reference}", content);
    }

    /// <summary>Pushes a config and one layer, then an OCI manifest naming them; returns the manifest bytes and digest.</summary>
    public static async Task<(byte[] Manifest, string Digest)> PushImageAsync(this HttpClient client, string repository, string tag, string? subjectDigest = null, long subjectSize = 0, string? artifactType = null)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"nonce\":\"{Guid.NewGuid()}\"}}");
        var layer = RandomBytes(1024);
        var configDigest = await client.PushBlobAsync(repository, config);
        var layerDigest = await client.PushBlobAsync(repository, layer);
        var manifest = ImageManifest(configDigest, config.Length, [(layerDigest, layer.Length)], subjectDigest, subjectSize, artifactType);
        var response = await client.PutManifestAsync(repository, tag, manifest);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (manifest, DigestOf(manifest));
    }

    public static byte[] ImageManifest(string configDigest, long configSize, IEnumerable<(string Digest, long Size)> layers, string? subjectDigest = null, long subjectSize = 0, string? artifactType = null, string configMediaType = "application/vnd.oci.image.config.v1+json", IReadOnlyDictionary<string, string>? annotations = null)
    {
        var manifest = new Dictionary<string, object?>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["config"] = new { mediaType = configMediaType, digest = configDigest, size = configSize },
            ["layers"] = layers.Select(l => new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = l.Digest, size = l.Size }).ToArray(),
        };
        if (artifactType is not null)
        {
            manifest["artifactType"] = artifactType;
        }

        if (subjectDigest is not null)
        {
            manifest["subject"] = new { mediaType = OciManifest, digest = subjectDigest, size = subjectSize };
        }

        if (annotations is not null)
        {
            manifest["annotations"] = annotations;
        }

        return JsonSerializer.SerializeToUtf8Bytes(manifest);
    }

    /// <summary>An OCI image index of the given image manifests.</summary>
    public static byte[] IndexManifest(IEnumerable<(string Digest, long Size)> children) =>
        JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = OciIndex,
            manifests = children.Select(c => new { mediaType = OciManifest, digest = c.Digest, size = c.Size }).ToArray(),
        });

    /// <summary>
    /// Pulls a manifest by digest and everything it references (blobs, and an index's child manifests),
    /// checking every digest; returns the manifests and the blobs (digest and size) it pulled.
    /// </summary>
    public static async Task<(HashSet<string> Manifests, Dictionary<string, long> Blobs)> PullVerifiedAsync(this HttpClient client, string repository, string digest)
    {
        var manifests = new HashSet<string>(StringComparer.Ordinal);
        var blobs = new Dictionary<string, long>(StringComparer.Ordinal);
        await PullVerifiedAsync(client, repository, digest, manifests, blobs);
        return (manifests, blobs);
    }

    private static async Task PullVerifiedAsync(HttpClient client, string repository, string digest, HashSet<string> manifests, Dictionary<string, long> blobs)
    {
        var response = await client.GetAsync($"/v2/{repository}/manifests/{digest}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {repository}@{digest}: {(int)response.StatusCode}");
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(digest, DigestOf(body));
        manifests.Add(digest);
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        if (root.TryGetProperty("manifests", out var children))
        {
            foreach (var child in children.EnumerateArray())
            {
                await PullVerifiedAsync(client, repository, child.GetProperty("digest").GetString()!, manifests, blobs);
            }

            return;
        }

        foreach (var blob in root.GetProperty("layers").EnumerateArray().Append(root.GetProperty("config")))
        {
            var blobDigest = blob.GetProperty("digest").GetString()!;
            var bytes = await client.GetByteArrayAsync($"/v2/{repository}/blobs/{blobDigest}");
            Assert.Equal(blobDigest, DigestOf(bytes));
            blobs[blobDigest] = bytes.Length;
        }
    }

    /// <summary>The first error code of an OCI error body.</summary>
    public static async Task<string> ErrorCodeAsync(this HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.False(string.IsNullOrEmpty(body), $"expected an OCI error body with status {(int)response.StatusCode}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("errors")[0].GetProperty("code").GetString()!;
    }

    public static string WithQuery(Uri location, string query)
    {
        var text = location.OriginalString;
        return text + (text.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query;
    }

    public static string Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? string.Join(",", contentValues) : "";

    public static string UniqueRepository(string prefix) => $"{prefix}/{Guid.NewGuid():N}";
}
