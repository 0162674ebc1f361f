using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Registry.Core.Content;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary>HTTPS from PEM files: HTTP/2 and HTTP/1.1, the full chain, and renewal without a restart.</summary>
public sealed class TlsTests(TlsServerFixture tls) : IClassFixture<TlsServerFixture>
{
    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Answers_over_http1_and_http2_with_a_chain_the_root_ca_verifies(string version)
    {
        using var client = tls.Certificates.CreateClient(tls.Server.BaseAddress, Version.Parse(version));
        client.DefaultRequestHeaders.Authorization = RegistryFixture.Basic("admin", ServerProcess.AdminPassword);

        var response = await client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Version.Parse(version), response.Version);
    }

    [Fact]
    public async Task A_blob_pushes_and_pulls_over_http2()
    {
        using var client = tls.Certificates.CreateClient(tls.Server.BaseAddress, HttpVersion.Version20);
        client.DefaultRequestHeaders.Authorization = RegistryFixture.Basic("admin", ServerProcess.AdminPassword);
        var content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 5);
        var digest = Digest.Compute(content);

        var push = await client.PostAsync($"/v2/tls/h2/blobs/uploads/?digest={digest}", new ByteArrayContent(content) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } });
        var pull = await client.GetAsync($"/v2/tls/h2/blobs/{digest}");

        Assert.Equal(HttpStatusCode.Created, push.StatusCode);
        Assert.Equal(content, await pull.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_renewed_certificate_is_served_to_new_connections_without_a_restart()
    {
        var before = await PresentedSerialAsync();
        var renewed = await tls.Certificates.IssueServerCertificateAsync();
        Assert.NotEqual(before, renewed);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        var presented = before;
        while (presented != renewed && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            presented = await PresentedSerialAsync();
        }

        Assert.Equal(renewed, presented);
    }

    private async Task<string> PresentedSerialAsync()
    {
        string? serial = null;
        using var client = tls.Certificates.CreateClient(tls.Server.BaseAddress, HttpVersion.Version11, certificate => serial = certificate.SerialNumber);
        (await client.GetAsync("/v2/")).Dispose();
        return serial!;
    }
}
