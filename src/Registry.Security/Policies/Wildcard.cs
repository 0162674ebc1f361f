namespace Registry.Security.Policies;

/// <summary>IAM's wildcards: <c>*</c> matches any run of characters (also none, also across <c>:</c> and <c>/</c>), <c>?</c> any one character.</summary>
public static class Wildcard
{
    public static bool IsMatch(string pattern, string value, StringComparison comparison = StringComparison.Ordinal)
    {
        if (pattern == "*")
        {
            return true;
        }

        int p = 0, v = 0, star = -1, resume = 0;
        while (v < value.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || CharEquals(pattern[p], value[v], comparison)))
            {
                p++;
                v++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = v;
            }
            else if (star >= 0)
            {
                p = star + 1;
                v = ++resume;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool CharEquals(char a, char b, StringComparison comparison) =>
        a == b || (comparison == StringComparison.OrdinalIgnoreCase && char.ToUpperInvariant(a) == char.ToUpperInvariant(b));
}
