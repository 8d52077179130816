# The port reservation test: reserve 10 ranges of 64 TCP ports from the ephemeral pool the way
# HNS does (WSAIoctl SIO_ACQUIRE_PORT_RESERVATION) and release them at once by closing the
# socket. Prints the same sentence as Microsoft's portReservationTest.ps1.
$source = @'
using System;
using System.Runtime.InteropServices;

public static class K8sBundlePortReservation
{
    [DllImport("ws2_32.dll")] static extern int WSAStartup(ushort version, byte[] data);
    [DllImport("ws2_32.dll")] static extern int WSACleanup();
    [DllImport("ws2_32.dll", SetLastError = true)] static extern IntPtr socket(int af, int type, int protocol);
    [DllImport("ws2_32.dll")] static extern int closesocket(IntPtr s);
    [DllImport("ws2_32.dll", SetLastError = true)]
    static extern int WSAIoctl(IntPtr s, uint code, byte[] inBuf, int inLen, byte[] outBuf, int outLen,
                               out int returned, IntPtr overlapped, IntPtr completion);

    // mstcpip.h: SIO_ACQUIRE_PORT_RESERVATION = _WSAIOW(IOC_VENDOR, 100)
    const uint SioAcquirePortReservation = 0x98000064;

    public static int Reserve(int ranges, ushort size)
    {
        byte[] wsa = new byte[1024];
        if (WSAStartup(0x0202, wsa) != 0) throw new Exception("WSAStartup failed");
        IntPtr s = socket(2, 1, 6);  // AF_INET, SOCK_STREAM, IPPROTO_TCP
        if (s == new IntPtr(-1)) { WSACleanup(); throw new Exception("socket() failed"); }
        int reserved = 0;
        try
        {
            for (int i = 0; i < ranges; i++)
            {
                // INET_PORT_RANGE { USHORT StartPort = 0 (any); USHORT NumberOfPorts }
                byte[] range = new byte[4];
                range[2] = (byte)(size & 0xff);
                range[3] = (byte)(size >> 8);
                // INET_PORT_RESERVATION_INSTANCE { INET_PORT_RANGE; ULONG64 token } (16 bytes aligned)
                byte[] instance = new byte[16];
                int returned;
                if (WSAIoctl(s, SioAcquirePortReservation, range, range.Length, instance, instance.Length,
                             out returned, IntPtr.Zero, IntPtr.Zero) == 0) reserved++;
            }
        }
        finally
        {
            closesocket(s);  // releases every reservation made through this socket
            WSACleanup();
        }
        return reserved;
    }
}
'@
Add-Type -TypeDefinition $source
$count = [K8sBundlePortReservation]::Reserve(10, 64)
if ($count -eq 10) {
    Write-Output "Successfully reserved 10 ranges of 64 ports"
} else {
    Write-Output "Couldn't reserve more than $count ranges of 64 ports"
}
