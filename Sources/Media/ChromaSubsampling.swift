/// SubWidthC and SubHeightC of H.264 and H.265 (Table 6-1 in both): how many luma samples one unit of a cropping
/// or conformance window offset covers. Monochrome and separately coded colour planes count in luma samples.
struct ChromaSubsampling {
    let width: Int
    let height: Int

    init(chromaFormatIDC: Int, separateColourPlane: Bool) {
        let arrayType = separateColourPlane ? 0 : chromaFormatIDC
        width = arrayType == 1 || arrayType == 2 ? 2 : 1
        height = arrayType == 1 ? 2 : 1
    }
}
