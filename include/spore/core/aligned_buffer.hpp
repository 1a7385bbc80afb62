#pragma once
// Owning, 64-byte aligned, uninitialised-on-request storage. The one place core allocates.

#include <algorithm>
#include <cstddef>
#include <new>
#include <utility>

#include <spore/core/config.hpp>

namespace spore {

template <class T>
class aligned_buffer {
public:
    aligned_buffer() = default;
    explicit aligned_buffer(std::size_t count) : size_(count) {
        if (count) data_ = static_cast<T*>(::operator new(count * sizeof(T), std::align_val_t{storage_alignment}));
        std::fill_n(data_, count, T{});
    }
    aligned_buffer(const aligned_buffer& other) : aligned_buffer(other.size_) {
        std::copy_n(other.data_, size_, data_);
    }
    aligned_buffer(aligned_buffer&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    aligned_buffer& operator=(aligned_buffer other) noexcept {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        return *this;
    }
    ~aligned_buffer() { release(); }

    T* data() noexcept { return data_; }
    const T* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

private:
    void release() noexcept {
        if (data_) ::operator delete(data_, std::align_val_t{storage_alignment});
    }
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace spore
