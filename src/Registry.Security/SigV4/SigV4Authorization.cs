using System.Globalization;

namespace Registry.Security.SigV4;

/// <summary>
/// The parts of an <c>Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…</c>
/// header: access key id, credential scope (date/region/service/aws4_request), signed headers, signature.
/// </summary>
public sealed record SigV4Authorization(string AccessKeyId, string Date, string Region, string Service, IReadOnlyList<string> SignedHeaders, string Signature)
{
    public string Scope => $"{Date}/{Region}/{Service}/aws4_request";

    /// <summary>Parses the header; false with a reason when it is not a well-formed SigV4 authorization.</summary>
    public static bool TryParse(string header, out SigV4Authorization? authorization, out string problem)
    {
        authorization = null;
        problem = "";
        if (!header.StartsWith(SigV4Signature.Algorithm + " ", StringComparison.Ordinal))
        {
            problem = $"Authorization header requires the {SigV4Signature.Algorithm} algorithm";
            return false;
        }

        var parts = header[(SigV4Signature.Algorithm.Length + 1)..]
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        foreach (var required in new[] { "Credential", "SignedHeaders", "Signature" })
        {
            if (!parts.ContainsKey(required))
            {
                problem = $"Authorization header requires '{required}' parameter";
                return false;
            }
        }

        var credential = parts["Credential"].Split('/');
        if (credential.Length != 5 || credential[4] != "aws4_request" || credential[0].Length == 0
            || !DateTime.TryParseExact(credential[1], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            problem = "Credential must have the form <access key id>/<yyyyMMdd>/<region>/<service>/aws4_request";
            return false;
        }

        var signedHeaders = parts["SignedHeaders"].Split(';');
        if (signedHeaders.Any(h => h.Length == 0 || h.Any(char.IsAsciiLetterUpper)) || !signedHeaders.Order(StringComparer.Ordinal).SequenceEqual(signedHeaders))
        {
            problem = "SignedHeaders must be lowercase header names, sorted, separated by ';'";
            return false;
        }

        var signature = parts["Signature"];
        if (signature.Length != 64 || !signature.All(char.IsAsciiHexDigitLower))
        {
            problem = "Signature must be 64 lowercase hexadecimal digits";
            return false;
        }

        authorization = new SigV4Authorization(credential[0], credential[1], credential[2], credential[3], signedHeaders, signature);
        return true;
    }
}
