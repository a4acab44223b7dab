using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;
using Tds.Plugins.Core;

namespace Tds.Plugins.Windows
{
    /// <summary>The API key in Windows Credential Manager (a generic credential, encrypted for the
    /// user by Windows). Plain P/Invoke into advapi32, so no extra assembly ships with the add-ins.
    /// One credential serves every tds plugin on the machine: paste the key once.</summary>
    public sealed class CredentialStore : ISecretStore
    {
        public const string DefaultTarget = "tds/api-key";
        const int CredTypeGeneric = 1;
        const int CredPersistLocalMachine = 2;
        const int ErrorNotFound = 1168;

        readonly string _target;

        public CredentialStore(string target = DefaultTarget)
        {
            _target = target;
        }

        public string Read()
        {
            IntPtr pointer;
            if (!CredRead(_target, CredTypeGeneric, 0, out pointer))
            {
                var error = Marshal.GetLastWin32Error();
                if (error == ErrorNotFound) return null;
                throw new Win32Exception(error);
            }
            try
            {
                var credential = (Credential)Marshal.PtrToStructure(pointer, typeof(Credential));
                if (credential.CredentialBlob == IntPtr.Zero || credential.CredentialBlobSize == 0) return null;
                return Marshal.PtrToStringUni(credential.CredentialBlob, credential.CredentialBlobSize / 2);
            }
            finally
            {
                CredFree(pointer);
            }
        }

        public void Write(string secret)
        {
            if (string.IsNullOrEmpty(secret))
            {
                if (!CredDelete(_target, CredTypeGeneric, 0) && Marshal.GetLastWin32Error() != ErrorNotFound)
                    throw new Win32Exception(Marshal.GetLastWin32Error());
                return;
            }
            var bytes = Encoding.Unicode.GetBytes(secret);
            var blob = Marshal.AllocCoTaskMem(bytes.Length);
            try
            {
                Marshal.Copy(bytes, 0, blob, bytes.Length);
                var credential = new Credential
                {
                    Type = CredTypeGeneric,
                    TargetName = _target,
                    Comment = "tds API key for the SketchUp/Rhino/Revit/AutoCAD plugins",
                    CredentialBlobSize = bytes.Length,
                    CredentialBlob = blob,
                    Persist = CredPersistLocalMachine,
                    UserName = Environment.UserName,
                };
                if (!CredWrite(ref credential, 0)) throw new Win32Exception(Marshal.GetLastWin32Error());
            }
            finally
            {
                Marshal.FreeCoTaskMem(blob);
            }
        }

        [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
        struct Credential
        {
            public int Flags;
            public int Type;
            public string TargetName;
            public string Comment;
            public System.Runtime.InteropServices.ComTypes.FILETIME LastWritten;
            public int CredentialBlobSize;
            public IntPtr CredentialBlob;
            public int Persist;
            public int AttributeCount;
            public IntPtr Attributes;
            public string TargetAlias;
            public string UserName;
        }

        [DllImport("advapi32.dll", EntryPoint = "CredReadW", CharSet = CharSet.Unicode, SetLastError = true)]
        static extern bool CredRead(string target, int type, int flags, out IntPtr credential);

        [DllImport("advapi32.dll", EntryPoint = "CredWriteW", CharSet = CharSet.Unicode, SetLastError = true)]
        static extern bool CredWrite(ref Credential credential, int flags);

        [DllImport("advapi32.dll", EntryPoint = "CredDeleteW", CharSet = CharSet.Unicode, SetLastError = true)]
        static extern bool CredDelete(string target, int type, int flags);

        [DllImport("advapi32.dll", SetLastError = false)]
        static extern void CredFree(IntPtr buffer);
    }
}
