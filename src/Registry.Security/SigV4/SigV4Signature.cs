using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Registry.Security.SigV4;

/// <summary>
/// AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
/// the canonical request, the string to sign, the derived signing key and the signature, as a
/// service computes them to check what a client signed.
/// </summary>
public static class SigV4Signature
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <param name="method">The HTTP method.</param>
    /// <param name="path">The request path as sent (already percent-encoded by the client).</param>
    /// <param name="query">The query string as sent, without <c>?</c>.</param>
    /// <param name="headers">Header names (any case) and values of the request.</param>
    /// <param name="signedHeaders">The lowercase header names the client signed, in its order.</param>
    /// <param name="payloadHash">Lowercase hex SHA-256 of the body (or the client's X-Amz-Content-Sha256).</param>
    public static string CanonicalRequest(string method, string path, string query, ILookup<string, string> headers, IReadOnlyList<string> signedHeaders, string payloadHash)
    {
        var builder = new StringBuilder();
        builder.Append(method).Append('\n');
        builder.Append(CanonicalPath(path)).Append('\n');
        builder.Append(CanonicalQuery(query)).Append('\n');
        foreach (var name in signedHeaders)
        {
            var values = headers[name].Select(CollapseSpaces);
            builder.Append(name).Append(':').Append(string.Join(',', values)).Append('\n');
        }

        builder.Append('\n').Append(string.Join(';', signedHeaders)).Append('\n').Append(payloadHash);
        return builder.ToString();
    }

    public static string StringToSign(string amzDate, string scope, string canonicalRequest) =>
        $"{Algorithm}\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

    public static byte[] SigningKey(string secret, string date, string region, string service)
    {
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secret), Encoding.UTF8.GetBytes(date));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(region));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(service));
        return HMACSHA256.HashData(key, "aws4_request"u8);
    }

    public static string Signature(byte[] signingKey, string stringToSign) =>
        Hex(HMACSHA256.HashData(signingKey, Encoding.UTF8.GetBytes(stringToSign)));

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>Each path segment URI-encoded once more, except that an empty path is <c>/</c> (non-S3 services encode twice in total).</summary>
    private static string CanonicalPath(string path)
    {
        if (path.Length == 0)
        {
            return "/";
        }

        return string.Join('/', path.Split('/').Select(segment => UriEncode(segment, encodeSlash: true)));
    }

    /// <summary>Parameters sorted by encoded name then value, each name and value URI-encoded (a name without value gets an empty one).</summary>
    private static string CanonicalQuery(string query)
    {
        if (query.Length == 0)
        {
            return "";
        }

        var pairs = query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p =>
            {
                var equals = p.IndexOf('=', StringComparison.Ordinal);
                var name = equals < 0 ? p : p[..equals];
                var value = equals < 0 ? "" : p[(equals + 1)..];
                return (Name: UriEncode(Uri.UnescapeDataString(name.Replace('+', ' ')), true), Value: UriEncode(Uri.UnescapeDataString(value.Replace('+', ' ')), true));
            })
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal);
        return string.Join('&', pairs.Select(p => $"{p.Name}={p.Value}"));
    }

    /// <summary>RFC 3986 unreserved characters stay; everything else is %XX of its UTF-8 bytes, upper-case hex.</summary>
    private static string UriEncode(string value, bool encodeSlash)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' || (c == '/' && !encodeSlash))
            {
                builder.Append(c);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static string CollapseSpaces(string value)
    {
        var trimmed = value.Trim();
        var builder = new StringBuilder(trimmed.Length);
        var previousSpace = false;
        foreach (var c in trimmed)
        {
            var space = c == ' ';
            if (!(space && previousSpace))
            {
                builder.Append(c);
            }

            previousSpace = space;
        }

        return builder.ToString();
    }
}
