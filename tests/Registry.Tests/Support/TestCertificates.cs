using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Registry.Tests.Support;

/// <summary>
/// A test PKI made with the openssl command line, as an operator would: a root CA, an intermediate CA,
/// and a server certificate for 127.0.0.1 and localhost issued by the intermediate. The server's PEM
/// file holds the full chain (server, then intermediate); clients trust only the root.
/// </summary>
public sealed class TestCertificates
{
    private int _generation;

    private TestCertificates(string directory) => Directory = directory;

    public string Directory { get; }

    public string CaPath => Path.Combine(Directory, "ca.crt");

    public string CertificatePath => Path.Combine(Directory, "server.crt");

    public string KeyPath => Path.Combine(Directory, "server.key");

    /// <summary>A folder with only <c>ca.crt</c>, the layout skopeo's and podman's <c>--cert-dir</c> expect.</summary>
    public string ClientCertDirectory => Path.Combine(Directory, "client");

    public static async Task<TestCertificates> CreateAsync(string directory)
    {
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "client"));
        var pki = new TestCertificates(directory);
        await pki.OpensslAsync("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=registry test root CA");
        await File.WriteAllTextAsync(Path.Combine(directory, "ca.ext"), "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n");
        await File.WriteAllTextAsync(Path.Combine(directory, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        await pki.OpensslAsync("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "intermediate.key", "-out", "intermediate.csr", "-subj", "/CN=registry test intermediate CA");
        await pki.OpensslAsync("x509", "-req", "-in", "intermediate.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "intermediate.crt", "-days", "2", "-extfile", "ca.ext");
        File.Copy(pki.CaPath, Path.Combine(pki.ClientCertDirectory, "ca.crt"));
        await pki.IssueServerCertificateAsync();
        return pki;
    }

    /// <summary>Issues a new server certificate (new key, new serial) and swaps the files in, as a renewal does. Returns its serial.</summary>
    public async Task<string> IssueServerCertificateAsync()
    {
        var name = "server-" + (++_generation).ToString(CultureInfo.InvariantCulture);
        await OpensslAsync("req", "-newkey", "rsa:2048", "-nodes", "-keyout", $"{name}.key", "-out", $"{name}.csr", "-subj", "/CN=127.0.0.1");
        await OpensslAsync("x509", "-req", "-in", $"{name}.csr", "-CA", "intermediate.crt", "-CAkey", "intermediate.key", "-CAcreateserial", "-out", $"{name}.crt", "-days", "2", "-extfile", "server.ext");
        var chain = await File.ReadAllTextAsync(Path.Combine(Directory, $"{name}.crt")) + await File.ReadAllTextAsync(Path.Combine(Directory, "intermediate.crt"));
        await File.WriteAllTextAsync(Path.Combine(Directory, $"{name}.chain"), chain);
        File.Move(Path.Combine(Directory, $"{name}.key"), KeyPath, overwrite: true);
        File.Move(Path.Combine(Directory, $"{name}.chain"), CertificatePath, overwrite: true);
        return X509Certificate2.CreateFromPem(chain).SerialNumber;
    }

    /// <summary>A client that trusts only the test root CA, speaking <paramref name="version"/> exactly.</summary>
    public HttpClient CreateClient(Uri baseAddress, Version version, Action<X509Certificate2>? onServerCertificate = null)
    {
        var root = X509CertificateLoader.LoadCertificateFromFile(CaPath);
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.Zero,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                {
                    if (certificate is null || chain is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                    {
                        return false;
                    }

                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(root);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    var server = new X509Certificate2(certificate);
                    onServerCertificate?.Invoke(server);
                    return chain.Build(server);
                },
            },
        };
        return new HttpClient(handler)
        {
            BaseAddress = baseAddress,
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromMinutes(2),
        };
    }

    private async Task OpensslAsync(params string[] arguments)
    {
        var result = await Cli.RunAsync("openssl", arguments, workingDirectory: Directory);
        result.EnsureSuccess("openssl " + arguments[0]);
    }
}
